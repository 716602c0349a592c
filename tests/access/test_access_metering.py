"""The free meter: N premium articles per 30 days, per account or per signed anonymous cookie."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membership.access.models import MeterRead
from membership.extensions import db
from membership.timeutil import utcnow

pytestmark = pytest.mark.config(METER_FREE_ARTICLES=2)


@pytest.fixture
def premium(world):
    """Everything under /investigations needs members-only-articles."""
    world.rule("path", "/investigations")


def _meter(body):
    return body["allowed"], body["reason"], body.get("meter")


def test_a_signed_in_reader_without_the_perk_reads_two_free_articles(ask, auth, world, premium):
    world.user()
    auth.login()
    assert _meter(ask("/investigations/a")[1]) == (
        True, "metered", {"limit": 2, "used": 1, "remaining": 1},
    )  # fmt: skip
    # the same article again is free of charge
    assert _meter(ask("/investigations/a")[1])[2]["used"] == 1
    assert _meter(ask("/investigations/b")[1]) == (
        True, "metered", {"limit": 2, "used": 2, "remaining": 0},
    )  # fmt: skip
    assert _meter(ask("/investigations/c")[1]) == (
        False, "meter_exhausted", {"limit": 2, "used": 2, "remaining": 0},
    )  # fmt: skip
    # articles already read stay readable for the rest of the window
    assert ask("/investigations/b")[1]["allowed"] is True
    # open articles never touch the meter
    assert "meter" not in ask("/news/x")[1]


def test_reads_older_than_thirty_days_no_longer_count(app, ask, auth, world, premium):
    user = world.user()
    with app.app_context():
        for n, days in enumerate((31, 45)):
            db.session.add(
                MeterRead(user_id=user, article=f"/old/{n}", read_at=utcnow() - timedelta(days))
            )
        db.session.commit()
    auth.login()
    assert ask("/investigations/a")[1]["meter"]["used"] == 1


def test_a_member_with_the_perk_spends_nothing(app, ask, auth, world, premium):
    world.grant(world.user())
    auth.login()
    body = ask("/investigations/a")[1]
    assert (body["reason"], "meter" in body) == ("perk", False)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MeterRead.id))) == 0


def test_an_anonymous_reader_is_metered_by_a_signed_cookie(app, client, ask, premium):
    assert ask("/investigations/a")[1]["meter"]["remaining"] == 1
    assert ask("/investigations/b")[1]["meter"]["remaining"] == 0
    assert ask("/investigations/c")[1]["reason"] == "meter_exhausted"
    cookie = client.get_cookie("meter")
    assert cookie is not None and cookie.http_only
    with app.app_context():  # anonymous traffic writes nothing to the database
        assert db.session.scalar(db.select(db.func.count(MeterRead.id))) == 0
    client.set_cookie("meter", cookie.value[:-2] + "xx")  # forged: starts from nothing
    assert ask("/investigations/c")[1]["meter"]["used"] == 1


def test_navigations_sub_resources_and_peeks_never_spend(ask, auth, world, premium):
    world.user()
    auth.login()
    for headers, params in [
        ({"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, {}),
        ({"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, {}),
        ({}, {"peek": "1"}),
    ]:
        body = ask("/investigations/a", headers=headers, **params)[1]
        # what a read would get (a free read remains), with nothing spent
        assert _meter(body) == (
            True, "metered", {"limit": 2, "used": 0, "remaining": 2},
        )  # fmt: skip
    fetch = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
    assert _meter(ask("/investigations/a", headers=fetch)[1]) == (
        True, "metered", {"limit": 2, "used": 1, "remaining": 1},
    )  # fmt: skip


@pytest.mark.parametrize("fast_path", [True, False])
def test_a_peek_answers_what_a_read_would_get_without_spending(
    app, ask, auth, world, premium, fast_path
):
    app.config["ACCESS_FAST_PATH"] = fast_path
    world.user()
    auth.login()
    assert _meter(ask("/investigations/a", peek="1")[1]) == (
        True, "metered", {"limit": 2, "used": 0, "remaining": 2},
    )  # fmt: skip
    ask("/investigations/a")
    ask("/investigations/b")
    # an article read already stays open; a new one would find the meter spent
    assert _meter(ask("/investigations/b", peek="1")[1]) == (
        True, "metered", {"limit": 2, "used": 2, "remaining": 0},
    )  # fmt: skip
    assert _meter(ask("/investigations/c", peek="1")[1]) == (
        False, "meter_exhausted", {"limit": 2, "used": 2, "remaining": 0},
    )  # fmt: skip
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MeterRead.id))) == 2


def test_an_anonymous_peek_spends_nothing_and_answers_like_a_read(client, ask, premium):
    assert _meter(ask("/investigations/a", peek="1")[1]) == (
        True, "metered", {"limit": 2, "used": 0, "remaining": 2},
    )  # fmt: skip
    assert client.get_cookie("meter") is None
    assert ask("/investigations/a")[1]["meter"]["used"] == 1
    assert ask("/investigations/b", peek="1")[1]["meter"] == {
        "limit": 2, "used": 1, "remaining": 1,
    }  # fmt: skip
    assert _meter(ask("/investigations/b")[1])[:2] == (True, "metered")
    assert _meter(ask("/investigations/c", peek="1")[1])[:2] == (False, "meter_exhausted")


@pytest.mark.config(METER_FREE_ARTICLES=0)
def test_metering_off(ask, premium):
    body = ask("/investigations/a")[1]
    assert (body["allowed"], body["reason"]) == (False, "perk_required")


def test_a_meter_cookie_from_before_still_counts_and_a_new_one_reads_anywhere(
    app, client, ask, premium
):
    from itsdangerous import URLSafeSerializer

    from membership.access import meter

    standard = URLSafeSerializer(app.config["SECRET_KEY"], salt="access-meter")
    reads = [[meter.article_digest(f"/investigations/{n}"), int(utcnow().timestamp())]
             for n in "ab"]  # fmt: skip
    client.set_cookie("meter", standard.dumps(reads))  # as an earlier version wrote it
    body = ask("/investigations/a")[1]
    assert (body["reason"], body["meter"]["used"]) == ("metered", 2)
    assert ask("/investigations/c")[1]["reason"] == "meter_exhausted"
    client.set_cookie("meter", "")
    ask("/investigations/z")
    assert standard.loads(client.get_cookie("meter").value)[0][0] == meter.article_digest(
        "/investigations/z"
    )
