"""Demo data: a few readers imported from Ghost and Substack, as a newsroom moving here would."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from membership.accounts.models import User
from membership.extensions import db
from membership.members import formats, importer
from membership.timeutil import utcnow

GHOST = """id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,\
created_at,deleted_at,labels,tiers
64f0c2a1d1,eteri@example.org,ეთერი ჯაფარიძე,,true,false,,2023-02-11T09:30:00.000Z,,Newsletter,
64f0c2a1d2,armen@example.org,Արմեն Սարգսյան,Board,true,true,,2022-09-01T12:00:00.000Z,,VIP,Insider
64f0c2a1d3,levan@example.org,ლევან გელაშვილი,,false,false,,2024-03-20T17:45:00.000Z,,,
64f0c2a1d4,svetlana@example.org,Светлана Орлова,,true,false,,2021-12-01T08:00:00.000Z,,,
"""
SUBSTACK_HEADER = "email,name,active_subscription,expiry,plan,email_disabled,created_at\n"
DEMO_ADDRESS = "eteri@example.org"


def seed_imported(summary, members: int, echo: Callable[[str], None]) -> None:
    """Readers from a Ghost export (one complimentary) and a Substack export (a paid
    subscriber with perks until their paid-through date), imported once."""
    if db_has(DEMO_ADDRESS):
        return
    expiry = (utcnow() + timedelta(days=200)).date().isoformat()
    substack = SUBSTACK_HEADER + (
        f"gohar@example.org,Գոհար Մկրտչյան,true,{expiry},yearly,false,2023-05-05T10:00:00Z\n"
        "nodar@example.org,ნოდარ ბერიძე,false,,,false,2024-01-15T10:00:00Z\n"
    )
    cat = importer.catalogue()
    languages = tuple(current_app.config["LANGUAGES"])
    created = 0
    for fmt, text in (("ghost", GHOST), ("substack", substack)):
        reader = formats.open_reader(io.StringIO(text), fmt, cat, languages)
        done = importer.run(reader, fmt, cat, dry_run=False, commit=lambda: None)
        created += done.counts["create"]
    summary.parts.append(f"{created} readers imported from Ghost and Substack")


def db_has(address: str) -> bool:
    """Whether an account has this address."""
    return db.session.scalar(select(User.id).where(User.email == address)) is not None
