"""Staff reports on PostgreSQL: dashboard time vs its bare SQL, and member-CSV streaming memory.

Builds a scratch database `membership_bench` (dropped and recreated; BENCH_DATABASE_URL names the
server, else PostgreSQL on 127.0.0.1:5432) with the migrations, then 100,000 members, ~90,000
memberships and 1,000,000 ledger rows generated in SQL (generate_series). Times the dashboard
through the Flask test client (median of 5), cold (revenue cache emptied before each request) and
warm (the ledger unchanged: the cached revenue by month is reused), each against the same SQL
statements run bare on a psycopg connection, and the member CSV streamed with tracemalloc's peak.
Goal: dashboard < 0.5 s, cold.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
import tracemalloc

MEMBERS = 100_000
LEDGER_ROWS = 1_000_000
RUNS = 5


def _server_url() -> str | None:
    """The PostgreSQL server to use, or None when none answers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    raw = (
        os.environ.get("BENCH_DATABASE_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    url = make_url(raw)
    if not url.drivername.startswith("postgresql"):
        return None
    try:
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT",
                               connect_args={"connect_timeout": 3})  # fmt: skip
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS membership_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE membership_bench"))
        engine.dispose()
    except Exception:  # no server, no rights: skip
        return None
    return url.set(database="membership_bench").render_as_string(hide_password=False)


GENERATE = [
    # 100,000 members with accounts spread over two years
    f"""INSERT INTO users (email, password_hash, name, locale, role, email_consent, verified_at,
        session_token, reset_generation, created_at)
    SELECT 'reader' || g || '@example.org', 'x', 'Reader ' || g, 'en', 'member', false, now(),
        'tok' || g, 0, now() - ((g % 730) || ' days')::interval
    FROM generate_series(1, {MEMBERS}) g""",  # noqa: S608 - constants only
    # 90 % of them have a membership: 75 % active, 15 % canceled, 4 % past due, 3 % trialing …
    f"""INSERT INTO memberships (user_id, plan_id, stripe_subscription_id, stripe_customer_id,
        status, interval, amount, currency, started_at, cancel_at_period_end, canceled_at,
        ended_at, latest_invoice_paid, past_due_since, ref, created_at, synced_at)
    SELECT u, 1 + u % 3, 'sub_b' || u, 'cus_b' || u,
        CASE WHEN u % 100 < 75 THEN 'active' WHEN u % 100 < 90 THEN 'canceled'
             WHEN u % 100 < 94 THEN 'past_due' WHEN u % 100 < 97 THEN 'trialing'
             ELSE 'incomplete_expired' END,
        CASE WHEN u % 5 = 0 THEN 'year' ELSE 'month' END,
        CASE WHEN u % 5 = 0 THEN 5000 ELSE 500 END * (1 + u % 3), 'eur',
        now() - ((u * 7919 % 730) || ' days')::interval, false,
        CASE WHEN u % 100 BETWEEN 75 AND 89 THEN now() - ((u % 60) || ' days')::interval END,
        CASE WHEN u % 100 BETWEEN 75 AND 89 THEN now() - ((u % 30) || ' days')::interval END,
        u % 100 < 90,
        CASE WHEN u % 100 BETWEEN 90 AND 93 THEN now() - ((u % 12) || ' days')::interval END,
        CASE WHEN u % 7 = 0 THEN 'article-' || (u % 40) END, now(), now()
    FROM generate_series(1, {MEMBERS * 9 // 10}) u""",  # noqa: S608 - constants only
    # 1,000,000 ledger rows over 24 months: payments, gifts, offline, refunds
    f"""INSERT INTO ledger_entries (kind, amount, currency, user_id, membership_id,
        stripe_object_id, payment_intent_id, description, occurred_at, created_at)
    SELECT k, CASE WHEN k = 'refund' THEN -500 ELSE 500 + (g % 7) * 100 END, 'eur',
        1 + g % {MEMBERS * 9 // 10},
        CASE WHEN k = 'membership' THEN 1 + g % {MEMBERS * 9 // 10} END,
        'in_b' || g, 'pi_b' || g, '', t, t
    FROM (SELECT g, now() - ((g::bigint * 104729 % (730 * 24)) || ' hours')::interval AS t,
            CASE WHEN g % 100 < 88 THEN 'membership' WHEN g % 100 < 94 THEN 'gift'
                 WHEN g % 100 < 97 THEN 'monthly_gift' WHEN g % 100 < 98 THEN 'offline'
                 ELSE 'refund' END AS k
          FROM generate_series(1, {LEDGER_ROWS}) g) s""",  # noqa: S608 - constants only
]


def _bare(engine, sql: list[tuple[str, object]]) -> float:
    """Median time of the statements run on a raw psycopg connection, fetching every row."""
    times = []
    raw = engine.raw_connection()
    try:
        for _ in range(RUNS):
            cursor = raw.cursor()
            t0 = time.perf_counter()
            for statement, parameters in sql:
                cursor.execute(statement, parameters)
                cursor.fetchall()
            times.append(time.perf_counter() - t0)
            cursor.close()
            raw.rollback()
    finally:
        raw.close()
    return statistics.median(times)


def run(report) -> None:
    """Build the data, then measure."""
    url = _server_url()
    if url is None:
        print("  skipped: no PostgreSQL (set BENCH_DATABASE_URL or start one on 127.0.0.1:5432)")
        return
    from flask_migrate import upgrade
    from sqlalchemy import event, text

    from membership import create_app
    from membership.accounts.models import Role, User
    from membership.billing.demo import seed_catalogue
    from membership.config import test_config
    from membership.demo import Summary
    from membership.extensions import db

    app = create_app(test_config(url, STRIPE_API_BASE="http://127.0.0.1:9"))
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        seed_catalogue(Summary(), 0, print)
        staff = User(email="staff@example.org", name="Staff", role=Role.admin)
        staff.password_hash = staff.session_token = "bench-staff"  # noqa: S105 - scratch data
        db.session.add(staff)
        db.session.commit()
        for statement in GENERATE:
            db.session.execute(text(statement))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    report.figure("build: 100k members, 1M ledger rows", time.perf_counter() - started, "s")

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = "bench-staff", True
    assert client.get("/admin/").status_code == 200  # warm-up

    statements: list[tuple[str, object]] = []
    with app.app_context():
        from membership.admin import cache

        engine = db.engine

        def capture(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        def measure(cold: bool) -> float:
            """Median time of the dashboard, with the revenue cache emptied first when cold."""
            timings = []
            for _ in range(RUNS):
                if cold:
                    cache.clear()
                statements.clear()
                t0 = time.perf_counter()
                response = client.get("/admin/")
                timings.append(time.perf_counter() - t0)
                assert response.status_code == 200
            return statistics.median(timings)

        event.listen(engine, "before_cursor_execute", capture)
        warm = measure(cold=False)
        warm_sql = [s for s in statements if "users.session_token" not in s[0]]
        dashboard = measure(cold=True)
        event.remove(engine, "before_cursor_execute", capture)
        report_sql = [s for s in statements if "users.session_token" not in s[0]]
        bare_sql = _bare(engine, report_sql)
        bare_warm = _bare(engine, warm_sql)
    report.figure(
        f"dashboard GET /admin/, cold cache (median of {RUNS}; goal < 500 ms)",
        dashboard * 1000,
        "ms",
    )
    report.figure(f"the same {len(report_sql)} SQL statements, bare", bare_sql * 1000, "ms")
    report.ratio("dashboard cold / bare SQL", dashboard, bare_sql)
    report.figure(f"dashboard GET /admin/, warm cache (median of {RUNS})", warm * 1000, "ms")
    report.figure(f"the warm path's {len(warm_sql)} SQL statements, bare", bare_warm * 1000, "ms")
    report.ratio("dashboard warm / its bare SQL", warm, bare_warm)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    t0 = time.perf_counter()
    response = client.get("/admin/members.csv", buffered=False)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    elapsed = time.perf_counter() - t0
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    report.figure(f"member CSV: {lines:,} lines, {size / 1e6:.1f} MB streamed", elapsed, "s")
    report.figure("member CSV: peak Python memory while streaming (tracemalloc)", peak / 1e6, "MB")
    report.figure("member CSV: process peak RSS growth", rss_growth / 1024, "MB")
    report.ratio("CSV size / peak memory (higher = flatter)", size, peak)
