"""A bare Flask app for benchmarks: one JSON endpoint answering a body of a given size.

`/bare/<n>` answers n bytes (the access benchmark asks for the size of each kind's answer);
`/bare` answers BENCH_BODY_SIZE bytes.
"""

from __future__ import annotations

import os
from functools import lru_cache

from flask import Flask, Response

app = Flask(__name__)
_SIZE = int(os.environ.get("BENCH_BODY_SIZE", "80"))


@lru_cache(maxsize=32)
def _body(size: int) -> bytes:
    """A JSON document of exactly `size` bytes (at least 10)."""
    return ('{"pad":"' + "x" * max(size - 10, 0) + '"}').encode()


@app.get("/healthz")
@app.get("/bare")
def bare() -> Response:
    """The same-sized JSON answer, with nothing behind it."""
    return Response(_body(_SIZE), mimetype="application/json")


@app.get("/bare/<int:size>")
def bare_sized(size: int) -> Response:
    """A JSON answer of `size` bytes, with nothing behind it."""
    return Response(_body(min(size, 65536)), mimetype="application/json")
