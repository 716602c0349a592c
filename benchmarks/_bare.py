"""A bare Flask app for benchmarks: one JSON endpoint whose body is BENCH_BODY_SIZE bytes long."""

from __future__ import annotations

import os

from flask import Flask, Response

app = Flask(__name__)
_SIZE = int(os.environ.get("BENCH_BODY_SIZE", "80"))
_BODY = ('{"pad":"' + "x" * max(_SIZE - 10, 0) + '"}').encode()


@app.get("/healthz")
@app.get("/bare")
def bare() -> Response:
    """The same-sized JSON answer, with nothing behind it."""
    return Response(_BODY, mimetype="application/json")
