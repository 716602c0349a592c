"""An outlet's statement on screen and as a download (CSV, PDF): staff, and that outlet's own
staff (admin_host's guard lets them in for their outlet only)."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from membership.admin.host_views import _outlet, bp
from membership.host import documents, statements
from membership.timeutil import utcnow


@bp.get("/outlets/<int:outlet_id>/statement")
def statement(outlet_id: int):
    """?period=YYYY-MM (default: this month) &format=html|csv|pdf."""
    outlet = _outlet(outlet_id)
    raw = request.args.get("period")
    try:
        period = statements.Period.parse(raw) if raw else statements.Period.current(utcnow())
    except statements.PeriodError:
        abort(400)
    st = statements.statement(outlet.campaign, outlet, period)
    kind = request.args.get("format", "html")
    name = documents.file_name(st)
    if kind == "csv":
        return _download(statements.to_csv(st), "text/csv", f"{name}.csv")
    if kind == "pdf":
        body = documents.to_pdf(st)
        if body is None:
            abort(404)
        return _download(body, "application/pdf", f"{name}.pdf")
    if kind != "html":
        abort(400)
    return render_template("admin/host/statement.html", st=st, outlet=outlet,
                           pdf=documents.pdf_available())  # fmt: skip


def _download(body, mimetype: str, filename: str) -> Response:
    """An attachment; statements are private, so no cache keeps them."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
