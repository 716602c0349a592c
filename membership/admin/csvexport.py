"""CSV downloads streamed row by row, safe to open in a spreadsheet; money as decimal amounts
beside their currency (minor units in extra columns for those who add them up)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal

from flask import Response, stream_with_context

from membership.money import to_major

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Defuse spreadsheet formulas: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def decimal_amount(minor: int | None, currency: str | None) -> Decimal | str:
    """Minor units as a plain decimal amount with the currency's own digits (Stripe's exponent):
    1234 EUR is 12.34, 1234 JPY 1234, 1234 KWD 1.234; empty when there is no amount. A number,
    not text, so that the formula guard leaves a refund's minus sign alone."""
    if minor is None or minor == "" or not currency:
        return ""
    return to_major(int(minor), currency)


def with_decimals(
    header: list[str], rows: Iterable[list], money: Iterable[int], currency: int
) -> tuple[list[str], Iterable[list]]:
    """Header and rows with each money column (minor units) written as a decimal amount in
    the row's currency (column `currency`), the minor units repeated at the end (`<name>_minor`)."""
    money = list(money)
    names = [header[i].removesuffix("_minor") for i in money]
    out_header = [names[money.index(i)] if i in money else h for i, h in enumerate(header)]
    out_header += [f"{name}_minor" for name in names]

    def convert(row: list) -> list:
        code = row[currency]
        cells = [decimal_amount(v, code) if i in money else v for i, v in enumerate(row)]
        return cells + [row[i] for i in money]

    return out_header, (convert(row) for row in rows)


def csv_lines(header: list[str], rows: Iterable[Iterable[object]]) -> Iterable[str]:
    """The header, then each row, as CSV text, one line at a time (constant memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(cell) for cell in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(cell) for cell in row])
        yield buffer.getvalue()


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[object]]) -> Response:
    """A streamed attachment; the rows are produced while the response is sent."""
    response = Response(
        stream_with_context(csv_lines(header, rows)), mimetype="text/csv; charset=utf-8"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
