"""Member files on disk: read with a byte count (for progress bars), and uploads kept between the
staff's preview and their confirmation (instance/imports/, random names, size-limited, a day)."""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l

from membership.members import formats

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_SECONDS = 24 * 3600
DEFAULT_MAX_BYTES = 5 * 1024 * 1024


class _Counting(io.RawIOBase):
    """A binary file that reports how many bytes were read."""

    def __init__(self, raw: BinaryIO, seen: Callable[[int], None]) -> None:
        self.raw, self.seen = raw, seen

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        if data:
            self.seen(len(data))
        return len(data)


def text(raw: BinaryIO, seen: Callable[[int], None] | None = None) -> io.TextIOWrapper:
    """A UTF-8 text stream over a binary file, reporting bytes read to `seen`."""
    if seen is not None:
        raw = io.BufferedReader(_Counting(raw, seen))
    return formats.text_stream(raw)


def max_bytes() -> int:
    """The largest file the staff page takes (MEMBER_IMPORT_MAX_BYTES; the command has none)."""
    return int(current_app.config.get("MEMBER_IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def _folder() -> Path:
    """Where uploads wait: MEMBER_IMPORT_DIR, else instance/imports."""
    configured = current_app.config.get("MEMBER_IMPORT_DIR")
    folder = Path(configured) if configured else Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Upload:
    """A file staff uploaded, waiting for their confirmation."""

    token: str
    fmt: str
    filename: str
    size: int
    path: Path


def stage(source: IO[bytes], filename: str, fmt: str, check: Callable[[Path, str], None]) -> Upload:
    """Keep an uploaded file under a random name after `check(path, fmt)` accepted it; raises
    formats.FileProblem (and keeps nothing) when it is too big, empty or not readable."""
    _forget_old()
    token = secrets.token_urlsafe(24)
    path = _folder() / f"{token}.csv"
    limit = max_bytes()
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(64 * 1024):
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    try:
        if size > limit:
            raise formats.FileProblem(str(too_big()))
        if size == 0:
            raise formats.FileProblem(str(_l("The file is empty.")))
        check(path, fmt)
    except formats.FileProblem:
        path.unlink(missing_ok=True)
        raise
    meta = {"fmt": fmt, "filename": Path(filename or "members.csv").name[:200], "size": size}
    path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
    return Upload(token, fmt, meta["filename"], size, path)


def too_big():
    """The message for a file over the limit."""
    return _l("The file is larger than %(size)d MB. Import it with `flask members import`.",
              size=max(1, max_bytes() // (1024 * 1024)))  # fmt: skip


def staged(token: str) -> Upload | None:
    """The upload behind a token, or None (unknown, expired, or not a token at all)."""
    if not TOKEN.match(token or ""):
        return None
    path = _folder() / f"{token}.csv"
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not path.exists() or meta.get("fmt") not in formats.FORMATS:
        return None
    return Upload(token, meta["fmt"], str(meta.get("filename", "")), int(meta.get("size", 0)), path)


def discard(upload: Upload) -> None:
    """Remove an upload once it was imported."""
    upload.path.unlink(missing_ok=True)
    upload.path.with_suffix(".json").unlink(missing_ok=True)


def _forget_old() -> None:
    """Remove uploads nobody confirmed within a day."""
    cutoff = time.time() - KEEP_SECONDS
    for path in _folder().glob("*.*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
