"""Webhook health: events by status, failed ones with a replay button, the last reconciliation,
and the money Stripe reported that the app could not attribute (kept out of every total).

Replaying is open to staff (not only admins): it runs the same idempotent handlers Stripe's own
retry would run, so it cannot move money or state anywhere Stripe's objects do not say.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from membership.accounts.forms import EmptyForm
from membership.admin import services
from membership.admin.views import bp
from membership.billing import events
from membership.billing.models import StripeEvent
from membership.extensions import db
from membership.ledger import services as ledger


@bp.route("/webhooks")
def webhooks():
    """How Stripe's deliveries are faring."""
    return render_template(
        "admin/webhooks.html",
        health=services.webhook_health(),
        unattributed=ledger.unattributed(),
        form=EmptyForm(),
        queued=events.processing_mode() == "queued",
        retry_after=", ".join(
            format_timedelta(timedelta(seconds=seconds), threshold=1)
            for seconds in events.RETRY_INTERVALS
        ),
    )


@bp.route("/webhooks/<event_id>/replay", methods=["POST"])
def replay(event_id: str):
    """Process a stored event again."""
    stored = db.session.get(StripeEvent, event_id[:255]) or abort(404)
    if EmptyForm().validate_on_submit():
        outcome = services.replay_event(stored, current_user)
        db.session.commit()
        if outcome.status == "failed":
            flash(_("%(id)s failed again: %(error)s", id=stored.id, error=stored.error), "error")
        else:
            flash(_("%(id)s: %(status)s.", id=stored.id, status=outcome.status))
    return redirect(url_for("admin.webhooks"), 303)
