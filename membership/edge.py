"""Input at the edge: what no route, form or signed document may carry, refused once, here.

- A NUL character anywhere in the path, the query string or a submitted form (names and values)
  is answered 400 before any view, form or database sees it: PostgreSQL text cannot hold NUL,
  and no reader types one.
- Ids in URLs and query strings are ASCII digits within the database's integer range
  (`<int:…>` routes and `parse_id`); anything else names nothing, so 404 (or "not ours").
- JSON documents from outside (webhook bodies) are bounded in depth and hold no NUL and no lone
  surrogate (`json_problem`).
- Text shown to the public (`clean_text`, the `public_text` template filter) loses control and
  invisible formatting characters that could spoof what is around it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from membership.errors import render_error

# PostgreSQL's `integer`, the type of every primary key here.
MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 64  # Stripe's events nest about ten levels deep
_ASCII_ID = re.compile(r"[0-9]{1,10}")


def parse_id(text: object) -> int | None:
    """A database id from outside text: ASCII digits, 1 to MAX_ID; None for anything else
    ("²" and "٣" are digits to str.isdigit(), and 20 nines overflow the column)."""
    if not isinstance(text, str) or not _ASCII_ID.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: ASCII digits within the integer range; anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False) -> None:
        bound = MAX_ID if max is None else max
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=False)


def has_nul(*texts: str) -> bool:
    """Whether any of the texts holds a NUL character."""
    return any("\x00" in text for text in texts)


def _refuse_nul():
    """before_request: 400 when the path, the query string or a submitted form holds a NUL."""
    query = request.query_string
    found = "\x00" in request.path or b"\x00" in query or b"%00" in query.lower()
    if not found and request.mimetype in ("application/x-www-form-urlencoded",
                                          "multipart/form-data"):  # fmt: skip
        found = any(has_nul(key, *request.form.getlist(key)) for key in request.form) or any(
            has_nul(key, upload.filename or "") for key, upload in request.files.items(multi=True)
        )
    if found:
        return render_error(400, _("What you sent contains a character that cannot be used."))
    return None


def json_problem(document: Any, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON document cannot be stored (too deep, a NUL or a lone surrogate in a
    string or key), or None. Iterative, so depth itself cannot exhaust the stack."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        if isinstance(value, dict):
            for key, item in value.items():
                if _bad_string(key):
                    return "a key holds a NUL or a lone surrogate"
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and _bad_string(value):
            return "a string holds a NUL or a lone surrogate"
    return None


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _bad_string(text: str) -> bool:
    return "\x00" in text or _SURROGATE.search(text) is not None


# --- text for the public -------------------------------------------------------------------

# Invisible formatting characters that are kept: joiners that words in Persian, Indic scripts and
# emoji sequences need, and the directional marks (LRM, RLM, ALM), which only set the direction
# of neighbouring punctuation and cannot reorder text the way overrides and isolates can.
_KEPT_FORMAT = {"\u200c", "\u200d", "\u200e", "\u200f", "\u061c"}


def clean_text(text: str | None, multiline: bool = False) -> str:
    """Text without control characters (Unicode Cc; line breaks kept when `multiline`) and
    without invisible format characters (Cf: the bidirectional embeddings, overrides and
    isolates U+202A to U+202E and U+2066 to U+2069, zero-width spaces, tags, ...) except the
    few in _KEPT_FORMAT. Line and paragraph separators become line breaks (or spaces)."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n").replace("\t", " ")
    kept = []
    for char in text:
        if char == "\n":
            kept.append("\n" if multiline else " ")
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in _KEPT_FORMAT):
            continue
        kept.append(char)
    return "".join(kept)


def clean_line(text: str | None) -> str:
    """`clean_text` for a one-line field (a name), whitespace collapsed; a WTForms filter."""
    return " ".join(clean_text(text).split())


def clean_message(text: str | None) -> str:
    """`clean_text` keeping line breaks (a message), stripped; a WTForms filter."""
    return clean_text(text, multiline=True).strip()


def init_app(app: Flask) -> None:
    """The bounded `int` converter (set before any route is added), the NUL check (first of all
    before_request hooks, so nothing reads the input before it), the `public_text` filter."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_nul)
    app.jinja_env.filters["public_text"] = lambda text, multiline=False: clean_text(text, multiline)
