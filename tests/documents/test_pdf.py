"""The shared PDF writer: text in every script the app speaks, amounts right-aligned, pages."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from membership.documents import pdf


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _document(rows: int = 3) -> pdf.Document:
    columns = (pdf.Column("Date", 2), pdf.Column("Outlet", 4), pdf.Column("Amount", 2, "R"))
    return pdf.Document(
        title="Statement 2026",
        subtitle="1 January to 31 December 2026",
        blocks=(
            pdf.Block(("ფონდი „თავისუფალი პრესა“", "რუსთაველის გამზირი 12, თბილისი"), "From"),
            pdf.Block(("Անահիտ Սարգսյան", "anahit@example.org"), "For"),
        ),
        tables=(
            pdf.Table(
                columns,
                [("3 March 2026", f"Azərbaycan xəbərləri {n}", "12,50 €") for n in range(rows)],
                title="Gifts",
                totals=(("", "Итого", "1 234,50 €"),),
            ),
            pdf.Table(columns, (), title="Refunds", empty="No refunds."),
        ),
        notes=("Примечание: суммы указаны в валюте платежа.",),
        footer="Reg. no. 404 123 456",
        language="ka",
        author="Newsroom Members",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def test_pdf_holds_every_script_and_the_amounts():
    data = pdf.render(_document())
    assert data.startswith(b"%PDF-")
    text = _text(data)
    for expected in (
        "Statement 2026",
        "ფონდი „თავისუფალი პრესა“",
        "Անահիտ Սարգսյան",
        "Azərbaycan xəbərləri 2",
        "Итого",
        "1 234,50 €",
        "12,50 €",
        "No refunds.",
        "Reg. no. 404 123 456",
    ):
        assert expected in text, expected
    assert PdfReader(io.BytesIO(data)).metadata.title == "Statement 2026"


def test_amount_columns_are_right_aligned():
    """Each amount ends at the table's right edge, whatever its length."""
    reader = PdfReader(io.BytesIO(pdf.render(_document())))
    ends = {}

    def visit(text, cm, tm, font, size):
        if text.strip() in ("12,50 €", "1 234,50 €"):
            ends.setdefault(text.strip(), tm[4])

    reader.pages[0].extract_text(visitor_text=visit)
    assert set(ends) == {"12,50 €", "1 234,50 €"}
    # The longer total starts further left: both are flush against the same right edge.
    assert ends["1 234,50 €"] < ends["12,50 €"]


def test_signs_the_font_lacks_are_replaced_not_dropped():
    assert pdf.printable("12,50\u00a0₾") == "12,50\u00a0GEL"
    assert pdf.printable("֏ ₼") == "AMD AZN"
    assert pdf.printable("中") == pdf.MISSING
    text = _text(pdf.render(pdf.Document(title="Total 10,00 ₾", footer="x")))
    assert "10,00 GEL" in text


def test_long_tables_run_over_pages_with_numbers():
    data = pdf.render(_document(rows=120))
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    last = reader.pages[-1].extract_text()
    assert f"{len(reader.pages)} / {len(reader.pages)}" in last
    assert "Azərbaycan xəbərləri 119" in _text(data)


def test_a_strong_column_and_totals_rows_are_bold():
    table = pdf.Table(
        (pdf.Column("Currency"), pdf.Column("Total", align="R", strong=True)),
        [("EUR", "35,00 €")],
        totals=(("All", "99,00 €"),),
    )
    reader = PdfReader(io.BytesIO(pdf.render(pdf.Document(title="T", tables=(table,)))))
    faces = {}

    def visit(text, cm, tm, font, size):
        if text.strip() and font is not None:
            faces[text.strip()] = str(font.get("/BaseFont"))

    reader.pages[0].extract_text(visitor_text=visit)
    assert "Bold" in faces["35,00 €"] and "Bold" in faces["99,00 €"] and "Bold" in faces["All"]
    assert "Bold" not in faces["EUR"]
