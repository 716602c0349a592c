"""Bare Flask for the fundraiser benchmark: a template render of BENCH_PAGE_SIZE bytes."""

from __future__ import annotations

import os

from flask import Flask, render_template_string

app = Flask(__name__)
_SIZE = int(os.environ.get("BENCH_PAGE_SIZE", "10000"))
_TEMPLATE = "<!doctype html><html><body><h1>{{ title }}</h1><p>{{ text }}</p></body></html>"
_TEXT = "x" * max(_SIZE - 70, 0)


@app.get("/healthz")
def healthz():
    """Up."""
    return {"status": "ok"}


@app.get("/bare-page")
def bare_page():
    """A template render of the same size as the campaign page, with nothing behind it."""
    return render_template_string(_TEMPLATE, title="Fundraiser", text=_TEXT)
