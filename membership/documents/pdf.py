"""Statement-like PDF documents (fpdf2, bundled DejaVu fonts): no outside service, no network.

A `Document` is a title, side-by-side blocks of header lines (who issues it, for whom, which
period), tables whose amount columns are right-aligned and whose totals rows are bold, notes
and a footer. Callers pass text already translated and formatted (Babel) in the document's
language; this module only lays it out, so donor statements and outlet statements share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

FONTS = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
# Signs Babel writes for a currency in its own country's locale that DejaVu 2.37 has no glyph
# for (lari in Georgian, dram in Armenian, manat in Azerbaijani): the ISO code stands in.
SUBSTITUTES = {"\u20be": "GEL", "\u058f": "AMD", "\u20bc": "AZN"}
MISSING = "\ufffd"  # any other character the font lacks: visibly replaced, never dropped
INK = (33, 33, 33)
MUTED = (102, 102, 102)
RULE = (200, 200, 200)
SHADE = (242, 242, 242)


@dataclass(frozen=True)
class Column:
    """A table column: its heading, relative width, alignment ("L", or "R" for amounts), and
    whether its cells are bold (a total's column)."""

    heading: str
    width: float = 1.0
    align: str = "L"
    strong: bool = False


@dataclass(frozen=True)
class Table:
    """A titled table: rows of cell texts, then bold totals rows (the same number of cells)."""

    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    title: str = ""
    totals: Sequence[Sequence[str]] = ()
    empty: str = ""  # shown instead of the table when it has no rows


@dataclass(frozen=True)
class Block:
    """A block of header lines under an optional heading, e.g. the issuer or the recipient."""

    lines: Sequence[str]
    heading: str = ""


@dataclass(frozen=True)
class Document:
    """Everything one PDF shows, as text in its language."""

    title: str
    blocks: Sequence[Block] = ()
    tables: Sequence[Table] = ()
    notes: Sequence[str] = ()
    footer: str = ""
    subtitle: str = ""
    language: str = "en"
    author: str = ""
    created_at: datetime | None = None  # fixed in the file's metadata (reproducible output)


@cache
def _glyphs() -> frozenset[int]:
    """The code points both bundled faces can draw."""
    faces = [TTFont(FONTS / name) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")]
    covered = set(faces[0].getBestCmap())
    for face in faces[1:]:
        covered &= set(face.getBestCmap())
    return frozenset(covered)


def printable(text: str) -> str:
    """`text` with every character the bundled fonts cannot draw replaced (see SUBSTITUTES)."""
    glyphs = _glyphs()
    if all(ord(char) in glyphs or char in "\n\t" for char in text):
        return text
    out = []
    for char in text:
        if ord(char) in glyphs or char in "\n\t":
            out.append(char)
        else:
            out.append(SUBSTITUTES.get(char, MISSING))
    return "".join(out)


class _PDF(FPDF):
    """A4 pages with the document's footer line and "page / pages" at the bottom."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*MUTED)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y() - 2, self.w - self.r_margin, self.get_y() - 2)
        width = self.w - self.l_margin - self.r_margin
        self.cell(width * 0.8, 5, self.footer_text, align="L")
        self.cell(width * 0.2, 5, f"{self.page_no()} / {{nb}}", align="R")


def render(document: Document) -> bytes:
    """The document as PDF bytes (A4, fonts embedded as subsets)."""
    pdf = _PDF(format="A4", unit="mm")
    pdf.footer_text = printable(document.footer)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_lang(document.language)
    pdf.set_title(printable(document.title))
    if document.author:
        pdf.set_author(printable(document.author))
        pdf.set_creator(printable(document.author))
    pdf.set_creation_date(document.created_at or datetime.now(UTC))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, "B", 17)
    pdf.multi_cell(width, 8, printable(document.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if document.subtitle:
        pdf.set_font(FAMILY, size=10.5)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(width, 6, printable(document.subtitle), new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(4)
    _blocks(pdf, document.blocks, width)
    for table in document.tables:
        _table(pdf, table, width)
    if document.notes:
        pdf.set_font(FAMILY, size=8.5)
        pdf.set_text_color(*MUTED)
        for note in document.notes:
            pdf.multi_cell(width, 4.6, printable(note), align="L", new_x=XPos.LMARGIN,
                           new_y=YPos.NEXT)  # fmt: skip
            pdf.ln(1.5)
    return bytes(pdf.output())


def _blocks(pdf: FPDF, blocks: Sequence[Block], width: float) -> None:
    """Header blocks side by side, each in its own column; the cursor ends below the tallest."""
    if not blocks:
        return
    gap = 6
    column = (width - gap * (len(blocks) - 1)) / len(blocks)
    top = pdf.get_y()
    bottom = top
    for index, block in enumerate(blocks):
        x = pdf.l_margin + index * (column + gap)
        pdf.set_xy(x, top)
        if block.heading:
            pdf.set_font(FAMILY, "B", 8)
            pdf.set_text_color(*MUTED)
            pdf.multi_cell(column, 4.5, printable(block.heading), new_x=XPos.LEFT,
                           new_y=YPos.NEXT)  # fmt: skip
        pdf.set_text_color(*INK)
        for number, line in enumerate(block.lines):
            pdf.set_font(FAMILY, "B" if number == 0 else "", 10)
            pdf.multi_cell(column, 5, printable(line), align="L", new_x=XPos.LEFT,
                           new_y=YPos.NEXT)  # fmt: skip
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 6)


def _table(pdf: FPDF, table: Table, width: float) -> None:
    """One table: its title, a shaded heading row (repeated on each page), rows, bold totals."""
    if table.title:
        pdf.set_font(FAMILY, "B", 11.5)
        pdf.set_text_color(*INK)
        pdf.multi_cell(width, 7, printable(table.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    if not table.rows and table.empty:
        pdf.set_font(FAMILY, size=9.5)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(width, 5, printable(table.empty), align="L", new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)  # fmt: skip
        pdf.ln(5)
        return
    pdf.set_font(FAMILY, size=8.8)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    aligns = tuple(column.align for column in table.columns)
    heading = FontFace(emphasis="BOLD", fill_color=SHADE, size_pt=8)
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        width=width,
        col_widths=tuple(column.width for column in table.columns),
        text_align=aligns,
        headings_style=heading,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        line_height=4.6,
        padding=(1.6, 1.5),
        repeat_headings=1,
        v_align="TOP",
    ) as grid:
        row = grid.row()
        for column in table.columns:
            row.cell(printable(column.heading), align=column.align)
        for cells in table.rows:
            row = grid.row()
            for column, text in zip(table.columns, cells, strict=True):
                row.cell(printable(text), align=column.align, style=bold if column.strong else None)
        for cells in table.totals:
            row = grid.row()
            for column, text in zip(table.columns, cells, strict=True):
                row.cell(printable(text), align=column.align, style=bold)
    pdf.ln(6)
