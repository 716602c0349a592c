"""Member import and export: 100,000 rows, time and peak memory (flat: 10,000 rows for scale).

Generates a plain CSV (Georgian, Armenian and Latin names, consent, complimentary perks on one
row in ten, Stripe customer ids on one in twenty), then in a fresh process each: `members import
--dry-run`, the real import, the same file again (nothing changes), and `members export`. Each
figure is the process's wall time and its peak RSS (ru_maxrss, the whole Python process with the
app loaded). SQLite in a scratch file; BENCH_IMPORT_DATABASE_URL names a PostgreSQL database to
use instead (emptied and migrated).
"""

from __future__ import annotations

import csv
import os
import subprocess  # nosec B404 - runs this same module in a child process
import sys
import tempfile
import time
from pathlib import Path

ROWS = 100_000
SMALL = 10_000
NAMES = ["ნინო ბერიძე", "Անահիտ Պետրոսյան", "Иван Петров", "Leyla Məmmədova", "Giorgi K."]


def generate(path: Path, rows: int) -> None:
    """A plain CSV of `rows` readers."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "language", "email_consent", "stripe_customer_id",
                         "created_at", "complimentary"])  # fmt: skip
        for i in range(rows):
            writer.writerow([
                f"reader{i}@example.org", f"{NAMES[i % len(NAMES)]} {i}",
                ("en", "ka", "hy", "az", "ru")[i % 5], "yes" if i % 3 else "no",
                f"cus_bench{i:07d}" if i % 20 == 0 else "", "2024-05-01T10:00:00Z",
                "members-only-articles:2030-12-31" if i % 10 == 0 else "",
            ])  # fmt: skip


def child(database_url: str, command: list[str]) -> None:
    """In the child: run one `flask` command against the scratch database."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench")
    from membership import create_app

    app = create_app()
    result = app.test_cli_runner().invoke(args=command)
    print(result.output.strip().splitlines()[-1] if result.output.strip() else "")
    if result.exit_code:
        raise SystemExit(result.output)


def _measure(database_url: str, command: list[str]) -> tuple[float, float, str]:
    """Run a command in a fresh process: (seconds, peak RSS in MB, its last line)."""
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603  # nosec B603 - our own interpreter and module
        [sys.executable, "-m", "benchmarks.member_import", "--child", database_url, *command],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    output = process.stdout.read()  # one line; then reap the child to read its own peak
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stdout.close()
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed")
    return seconds, usage.ru_maxrss / 1024, output.strip()


def _database(folder: Path) -> str:
    url = os.environ.get("BENCH_IMPORT_DATABASE_URL")
    if not url:
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # tables, triggers and functions: all go
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def run(report) -> None:
    """Generate, import, import again, export; print each figure."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        url = _database(folder)
        _measure(url, ["db", "upgrade"])
        _measure(url, ["demo", "seed"])  # the catalogue the perks name (and a few demo readers)
        small, big = folder / "small.csv", folder / "big.csv"
        generate(small, SMALL)
        generate(big, ROWS)
        print(f"  database: {url.split(':', 1)[0]}; file: {big.stat().st_size / 1e6:.1f} MB")
        steps = [
            (f"import --dry-run, {SMALL:,} rows", ["members", "import", str(small), "--format",
                                                  "csv", "--dry-run"]),
            (f"import --dry-run, {ROWS:,} rows", ["members", "import", str(big), "--format",
                                                 "csv", "--dry-run"]),
            (f"import, {ROWS:,} rows", ["members", "import", str(big), "--format", "csv"]),
            (f"import again, {ROWS:,} rows (nothing changes)",
             ["members", "import", str(big), "--format", "csv"]),
            ("export, every reader", ["members", "export", str(folder / "out.csv")]),
        ]  # fmt: skip
        for name, command in steps:
            seconds, peak, last = _measure(url, command)
            report.figure(f"{name}: time", seconds, "s")
            report.figure(f"{name}: peak RSS", peak, "MB")
            print(f"    {last}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3:])
    else:
        from benchmarks.__main__ import Report

        run(Report())
