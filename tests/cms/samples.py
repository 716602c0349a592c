"""The code samples of docs/cms-integration.md, read out of the page itself, so that what the suite
runs and what a newsroom copies cannot drift apart.

A sample is the fenced block right after `<!-- sample: NAME -->`; a block the suite does not run
says why in `<!-- not run: … -->`. Nothing is changed but the placeholders: the app's address
`https://members.example.org` and an API key `mk_…`.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cms-integration.md"
ADDRESS = "https://members.example.org"
API_KEY = "mk_…"
# Languages of code a reader would copy and run (JSON blocks are example data).
CODE = {"php", "js", "javascript", "python", "sh", "bash", "html"}
_BLOCK = re.compile(r"(?:<!-- (sample|not run): ([^>]*?) -->\n)?```(\w*)\n(.*?)\n```", re.S)


def blocks() -> list[tuple[str | None, str, str, str]]:
    """(marker kind, marker text, language, code) of every fenced block of the page."""
    return [
        (kind, text.strip() if text else "", language, code)
        for kind, text, language, code in _BLOCK.findall(DOC.read_text())
    ]


def sample(name: str, address: str, api_key: str | None = None) -> str:
    """The sample named `name`, with the app's address (and an API key) in place."""
    found = [code for kind, text, _lang, code in blocks() if kind == "sample" and text == name]
    assert len(found) == 1, f"docs/cms-integration.md has {len(found)} samples named {name!r}"
    code = found[0].replace(ADDRESS, address)
    return code.replace(API_KEY, api_key) if api_key is not None else code
