"""Checkout and the billing portal open in the reader's language where Stripe speaks it (English,
Russian), and follow the reader's browser (`auto`) for Georgian, Armenian and Azerbaijani,
which Stripe's hosted pages do not speak (asking for them would be refused)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from membership.accounts.models import User
from membership.extensions import db
from tests.billing.conftest import join


@pytest.mark.parametrize(("language", "asked"), [("en", "en"), ("ru", "ru"), ("ka", "auto"),
                                                 ("hy", "auto"), ("az", "auto")])  # fmt: skip
def test_checkout_is_asked_for_the_readers_language(
    app, reader, auth, stripe_world, language, asked
):
    with app.app_context():
        db.session.execute(update(User).where(User.id == reader).values(locale=language))
        db.session.commit()
    session_id = join(auth).rstrip("/").rsplit("/", 1)[-1]
    assert stripe_world.sandbox.engine.objects[session_id]["locale"] == asked
