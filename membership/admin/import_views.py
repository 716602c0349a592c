"""Staff import of a member file: upload, a preview of every row, then confirm.

The upload is kept in the instance folder under a random name (members/files.py) between the
preview and the confirmation; the preview is a dry run of the same import the confirmation runs.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from membership.admin.views import bp
from membership.errors import render_error
from membership.extensions import db
from membership.members import files, services
from membership.members.formats import PLATFORM_NAMES, FileProblem
from membership.members.importer import Outcome

PREVIEW_ROWS = 500  # rows shown one by one; problems are listed whatever their number
UPLOAD = "admin.member_import"


class ImportForm(FlaskForm):
    """A member file and what exported it."""

    file = FileField(_l("Member file (CSV)"), validators=[FileRequired(_l("Choose a file."))])
    fmt = SelectField(
        _l("Exported by"),
        choices=[
            SelectChoice("ghost", _l("Ghost (members export)")),
            SelectChoice("substack", _l("Substack (subscriber export)")),
            SelectChoice("patreon", _l("Patreon (members export)")),
            SelectChoice("csv", _l("Plain CSV (this site's export)")),
        ],
    )


class ConfirmImportForm(FlaskForm):
    """Confirm the previewed import."""

    invite = BooleanField(_l("Mail each new reader a sign-in link, in their language"))


@bp.record_once
def _upload_limit(state) -> None:
    """The upload may be larger than other forms: raise the body limit for it alone, before the
    CSRF check reads the form (an app-wide hook, so it goes first)."""

    def allow_upload() -> None:
        if request.endpoint == UPLOAD and request.method == "POST":
            request.max_content_length = files.max_bytes() + 64 * 1024

    state.app.before_request_funcs.setdefault(None, []).insert(0, allow_upload)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    """A file over the limit gets the form again with the reason, not an error page."""
    if request.endpoint != UPLOAD:
        return render_error(413, None)
    form = ImportForm(formdata=None)
    form.file.errors = [str(files.too_big())]
    return _upload_page(form), 413


def _upload_page(form: ImportForm) -> str:
    return render_template("admin/import.html", form=form, limit=files.max_bytes())


@bp.route("/members/import", methods=["GET", "POST"])
def member_import():
    """Upload a member file; a file that cannot be read as the chosen format is refused here."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            staged = files.stage(upload.stream, upload.filename or "", form.fmt.data,
                                 services.check_file)  # fmt: skip
        except FileProblem as exc:
            form.file.errors.append(str(exc))
            return _upload_page(form), 422
        return redirect(url_for("admin.member_import_preview", token=staged.token), 303)
    return _upload_page(form), 422 if form.is_submitted() else 200


@bp.route("/members/import/<token>", methods=["GET", "POST"])
def member_import_preview(token: str):
    """What importing the file would do, row by row; confirming imports it."""
    staged = files.staged(token) or abort(404)
    form = ConfirmImportForm()
    if form.validate_on_submit():
        with staged.path.open("rb") as raw:
            try:
                summary = services.import_file(
                    raw, staged.fmt, dry_run=False, commit=db.session.commit,
                    invite=form.invite.data, actor_id=current_user.id,
                )  # fmt: skip
            except FileProblem as exc:  # another writer got in the way: the preview again
                db.session.rollback()
                flash(str(exc), "error")
                return redirect(url_for("admin.member_import_preview", token=token), 303)
        files.discard(staged)
        flash(_done(summary))
        current_app.logger.info("members imported: %s", summary.line())
        return redirect(url_for("admin.members"), 303)
    shown: list[Outcome] = []

    def keep(outcome: Outcome) -> None:
        if len(shown) < PREVIEW_ROWS:
            shown.append(outcome)

    with staged.path.open("rb") as raw:
        try:
            summary = services.import_file(raw, staged.fmt, dry_run=True,
                                           commit=lambda: None, on_row=keep)  # fmt: skip
        except FileProblem as exc:
            db.session.rollback()
            files.discard(staged)
            flash(str(exc), "error")
            return redirect(url_for(UPLOAD), 303)
    db.session.rollback()
    return render_template(
        "admin/import_preview.html", staged=staged, platform=PLATFORM_NAMES[staged.fmt],
        summary=summary, rows=shown, form=form, limit=PREVIEW_ROWS,
    )  # fmt: skip


def _done(summary) -> str:
    """The flash message after an import."""
    counts = summary.counts
    return _(
        "Imported %(rows)d rows: %(created)d new readers, %(updated)d updated, "
        "%(unchanged)d unchanged, %(skipped)d skipped, %(errors)d with errors; "
        "%(invited)d invited.",
        rows=summary.rows, created=counts["create"], updated=counts["update"],
        unchanged=counts["unchanged"], skipped=counts["skip"], errors=counts["error"],
        invited=summary.invited,
    )  # fmt: skip
