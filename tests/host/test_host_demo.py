"""`flask demo seed` shows the host within a minute: its record and fee, Stripe fees from the
sandbox, one grant per outlet, a newsroom staff account and the transparency page."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from membership.extensions import db
from membership.fundraisers.demo import SLUG
from membership.host import staffing
from membership.host.models import FiscalHost, OutletGrant
from membership.ledger.models import LedgerFee
from tests.conftest import csrf_token


def test_demo_seeds_the_host(app, client, runner, stripe_world):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "its host (5 % fee" in result.output
    password = re.search(r"newsroom@example.org / (\S+)", result.output).group(1)
    with app.app_context():
        host = db.session.scalar(select(FiscalHost))
        assert host.fee_basis_points == 500 and host.legal_name
        assert (
            db.session.scalar(
                select(func.count(LedgerFee.id)).where(LedgerFee.campaign_id == host.campaign_id)
            )
            >= 8
        )
        grants = db.session.scalars(select(OutletGrant)).all()
        assert len(grants) == 3 and any(g.paid_currency == "gel" for g in grants)
        from membership.accounts.models import User

        user = db.session.scalar(select(User).where(User.email == "newsroom@example.org"))
        assert staffing.outlet_scope(user) is not None and not user.is_staff
    figures = client.get(f"/api/v1/fundraisers/{SLUG}/transparency").get_json()
    assert figures["fees"] > 0 and figures["granted"] > 0 and figures["host_fee"] > 0
    assert client.get(f"/fundraisers/{SLUG}/transparency").status_code == 200
    token = csrf_token(client, "/login")
    client.post(
        "/login", data={"email": "newsroom@example.org", "password": password, "csrf_token": token}
    )
    with app.app_context():
        outlet_id = staffing.outlet_scope(user)
    assert client.get(f"/admin/host/outlets/{outlet_id}/statement").status_code == 200
    assert client.get("/admin").status_code == 403
