"""What `make load` prints: p50/p95/p99 per group and per request, the errors, whether every
payment made during the run was confirmed by the worker, and one summary line."""

from __future__ import annotations

import math
import time
from collections import defaultdict

from sqlalchemy import bindparam, create_engine, text

APP_GROUPS = ("browse", "join", "give", "webhook")  # the app's answers; "sandbox" is Stripe's


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` in 0..1) of `values`; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def group_of(name: str) -> str:
    return name.split(":", 1)[0]


def table(samples: dict[str, list[float]], failures: dict[str, int]) -> list[str]:
    """One line per group, then per request name: count, errors, p50/p95/p99 in ms."""
    groups: dict[str, list[float]] = defaultdict(list)
    group_failures: dict[str, int] = defaultdict(int)
    for name, values in samples.items():
        groups[group_of(name)].extend(values)
        group_failures[group_of(name)] += failures.get(name, 0)
    header = f"{'':46} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    lines = [header]

    def row(label: str, values: list[float], errors: int) -> str:
        return (f"{label:46} {len(values):>8} {errors:>6} {percentile(values, .50):>8.0f} "
                f"{percentile(values, .95):>8.0f} {percentile(values, .99):>8.0f}")  # fmt: skip

    order = [g for g in (*APP_GROUPS, "sandbox") if g in groups]
    order += sorted(set(groups) - set(order))
    for group in order:
        lines.append(row(f"{group}{' (Stripe sandbox)' if group == 'sandbox' else ''}",
                         groups[group], group_failures[group]))  # fmt: skip
        for name in sorted(n for n in samples if group_of(n) == group):
            lines.append(row(f"  {name.split(':', 1)[1].strip()}", samples[name],
                             failures.get(name, 0)))  # fmt: skip
    return lines


def confirmations(database_url: str, paid: dict[str, list[str]]) -> dict[str, int]:
    """How many of the run's joins and gifts the webhooks (through the worker) have made real,
    and the stored events still waiting or failed."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            joined = 0
            if paid["join"]:
                joined = conn.scalar(
                    text(
                        "SELECT count(DISTINCT u.id) FROM users u JOIN memberships m "
                        "ON m.user_id = u.id WHERE u.email IN :emails "
                        "AND m.status IN ('active', 'trialing')"
                    ).bindparams(bindparam("emails", expanding=True)),
                    {"emails": paid["join"]},
                )
            given = 0
            if paid["give"]:
                given = conn.scalar(
                    text(
                        "SELECT count(*) FROM donations WHERE stripe_checkout_session_id IN :ids "
                        "AND status IN ('paid', 'active')"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"ids": paid["give"]},
                )
            statuses = dict(
                conn.execute(text("SELECT status, count(*) FROM stripe_events GROUP BY status"))
                .tuples()
                .all()
            )
    finally:
        engine.dispose()
    return {
        "joined": joined,
        "given": given,
        "waiting": statuses.get("received", 0),
        "failed": statuses.get("failed", 0),
        "events": sum(statuses.values()),
    }


def wait_for_confirmations(
    database_url: str, paid: dict[str, list[str]], timeout: float = 60.0
) -> tuple[dict[str, int], float]:
    """Poll until every join and gift is confirmed and no event waits (or `timeout`); returns
    the last counts and the seconds it took."""
    started = time.monotonic()
    while True:
        counts = confirmations(database_url, paid)
        done = (counts["joined"] == len(set(paid["join"])) and
                counts["given"] == len(set(paid["give"])) and counts["waiting"] == 0)  # fmt: skip
        elapsed = time.monotonic() - started
        if done or elapsed > timeout:
            return counts, elapsed
        time.sleep(0.5)


def summary_line(
    results: dict, counts: dict[str, int], drained: float, label: str
) -> tuple[str, int]:
    """The closing line and the number of errors in it (requests that failed, payments not
    confirmed, events that failed)."""
    samples, failures, seconds = results["samples"], results["failures"], results["seconds"]
    app = [v for n, vs in samples.items() if group_of(n) in APP_GROUPS for v in vs]
    request_errors = sum(failures.values())
    joins, gifts = len(set(results["paid"]["join"])), len(set(results["paid"]["give"]))
    unconfirmed = (joins - counts["joined"]) + (gifts - counts["given"]) + counts["waiting"]
    errors = request_errors + unconfirmed + counts["failed"]
    line = (
        f"load: {label}: {len(app)} app requests ({len(app) / max(seconds, 1e-9):.1f}/s), "
        f"p50 {percentile(app, 0.50):.0f} ms, p95 {percentile(app, 0.95):.0f} ms, "
        f"p99 {percentile(app, 0.99):.0f} ms; {joins} joins and {gifts} gifts paid, "
        f"{counts['joined'] + counts['given']} confirmed by the worker "
        f"{drained:.1f} s after the run; {counts['failed']} failed events; {errors} errors"
    )
    return line, errors
