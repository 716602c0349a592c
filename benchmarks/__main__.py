"""`make bench`: run every benchmark module (or those named on the command line) and print figures.

Never fails on a number: benchmarks measure, tests assert.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


class Report:
    """Collects figures and prints them as aligned lines."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def figure(self, name: str, value: float, unit: str) -> None:
        """Print one measured figure."""
        line = (name, f"{value:,.1f}", unit)
        self.rows.append(line)
        print(f"  {name:<58} {line[1]:>12} {unit}", flush=True)

    def ratio(self, name: str, ours: float, bare: float, goal: float | None = None) -> None:
        """Print ours/bare, and the goal when there is one."""
        value = ours / bare if bare else 0.0
        goal_text = f" (goal ≥ {goal:.2f}: {'met' if value >= goal else 'NOT met'})" if goal else ""
        self.rows.append((name, f"{value:.2f}", "ratio"))
        print(f"  {name:<58} {value:>12.2f} ratio{goal_text}", flush=True)


def main(argv: list[str]) -> int:
    """Run the benchmark modules."""
    here = Path(__file__).parent
    names = argv or sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_")
    )
    report = Report()
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n== {name}: {(module.__doc__ or '').strip().splitlines()[0]}", flush=True)
        started = time.perf_counter()
        try:
            module.run(report)
        except Exception as exc:  # a broken benchmark is reported, never fatal
            print(f"  benchmark {name} failed: {exc!r}", flush=True)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
