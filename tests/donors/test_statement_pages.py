"""The statement behind its signed link: a page and a PDF with the right figures and names, in
the reader's language; a forged or altered link opens nothing (404, never a 500)."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from membership.accounts import tokens as account_tokens
from membership.donors import links
from membership.extensions import db
from tests.donors.conftest import LAST_YEAR, at, dispute, gift, refund
from tests.factories import make_user
from tests.fundraisers.conftest import text_of

ANA = "ana@example.org"


@pytest.fixture
def ana(app, campaigns):
    """A donor without an account: three gifts in two currencies, a refund, a lost dispute."""
    with app.app_context():
        first = gift(campaigns["eur"], 5000, at(LAST_YEAR, 2), email=ANA)
        outlet = gift(campaigns["gel"], 12050, at(LAST_YEAR, 3), email=ANA,
                      outlet="mountain-post")  # fmt: skip
        third = gift(campaigns["eur"], 2500, at(LAST_YEAR, 4), email=ANA, outlet="river-daily")
        refund(first, 1500, at(LAST_YEAR, 5))
        dispute(third, 2500, at(LAST_YEAR, 6))
        gift(campaigns["eur"], 9900, at(LAST_YEAR - 1, 6), email=ANA)  # another year
        db.session.commit()
        return {"token": links.make_token(ANA, LAST_YEAR), "outlet_gift": outlet.donation_id}


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_the_page_lists_each_gift_refund_and_the_totals(client, ana):
    response = client.get(f"/donors/statement/{ana['token']}?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    text = text_of(response.get_data(as_text=True))
    assert f"Statement of gifts {LAST_YEAR}" in text
    for expected in ("ერთად თბილისისთვის", "Հետք Լրագրողներ", "River Daily",
                     "All newsrooms, shared equally", "Refund", "Card dispute (returned)",
                     f"D-{ana['outlet_gift']}", ANA, "Newsroom Members"):  # fmt: skip
        assert expected in text, expected
    # Totals per currency: €75.00 given, €40.00 back, €35.00; GEL 120.50 given.
    assert re.search(r"EUR €75\.00 -€40\.00 €35\.00", text), text
    assert re.search(r"GEL GEL\s?120\.50 GEL\s?0\.00 GEL\s?120\.50", text), text
    assert "€99.00" not in text  # the other year's gift


def test_the_page_speaks_the_readers_language(client, ana):
    text = client.get(f"/donors/statement/{ana['token']}?lang=ka").get_data(as_text=True)
    assert "35,00\xa0€" in text  # Babel's Georgian: comma decimals, the sign after
    assert "120,50\xa0₾" in text


def test_the_pdf_has_the_names_the_amounts_and_the_host(client, ana, app):
    app.config.update(HOST_LEGAL_NAME="ფონდი „თავისუფალი პრესა“", HOST_REGISTRATION="404-123")
    response = client.get(f"/donors/statement/{ana['token']}.pdf?lang=ka")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert f'filename="statement-{LAST_YEAR}.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    for expected in ("ერთად თბილისისთვის", "Հետք Լրագրողներ", "ფონდი „თავისუფალი პრესა“",
                     "404-123", ANA, "50,00 €", "-15,00 €", "-25,00 €", "35,00 €",
                     "120,50 GEL"):  # fmt: skip
        assert expected in text, expected
    assert "99,00" not in text


def test_an_empty_year_is_a_statement_that_says_so(app, client, ana):
    with app.app_context():
        token = links.make_token(ANA, LAST_YEAR - 5)
    response = client.get(f"/donors/statement/{token}?lang=en")
    assert response.status_code == 200
    assert "No gifts in this year." in response.get_data(as_text=True)
    assert client.get(f"/donors/statement/{token}.pdf").status_code == 200


def _flip(token: str, at: int) -> str:
    swapped = "A" if token[at] != "A" else "B"
    return token[:at] + swapped + token[at + 1 :]


def test_forged_and_altered_links_open_nothing(client, app, ana):
    token = ana["token"]
    payload, signature = token.rsplit(".", 1)
    with app.app_context():
        other_purpose = account_tokens.make_token("verify-email", {"e": ANA, "y": LAST_YEAR})
        wrong_shape = links._serializer().dumps({"v": 1, "e": ANA, "y": "2026"})
        no_address = links._serializer().dumps({"v": 1, "e": "", "y": LAST_YEAR})
        far_future = links._serializer().dumps({"v": 1, "e": ANA, "y": 10**6})
        old_version = links._serializer().dumps({"v": 0, "e": ANA, "y": LAST_YEAR})
        a_list = links._serializer().dumps([ANA, LAST_YEAR])
    from itsdangerous import URLSafeSerializer

    stranger = URLSafeSerializer("another secret", salt=links.SALT).dumps(
        {"v": 1, "e": ANA, "y": LAST_YEAR}
    )
    forged = {
        "payload altered": _flip(payload, 5) + "." + signature,
        "signature altered": payload + "." + _flip(signature, 3),
        "no signature": payload,
        "another purpose's token": other_purpose,
        "another key": stranger,
        "year not a number": wrong_shape,
        "no address": no_address,
        "year out of range": far_future,
        "old version": old_version,
        "not an object": a_list,
        "garbage": "not-a-token",
        "very long": "A" * 5000,
        "unicode": "%E2%82%BE.%D5%8F",
    }
    for name, bad in forged.items():
        for suffix in ("", ".pdf"):
            response = client.get(f"/donors/statement/{bad}{suffix}")
            assert response.status_code == 404, (name, suffix, response.status_code)
    assert client.get("/donors/statement/").status_code == 404


def test_a_signed_in_reader_finds_their_statements_on_the_account_page(app, auth, campaigns):
    with app.app_context():
        nino = make_user(email="nino@example.org")
        gift(campaigns["eur"], 3000, at(LAST_YEAR, 3), user=nino)
        gift(campaigns["eur"], 3000, at(LAST_YEAR - 1, 3), user=nino)
        db.session.commit()
    auth.login(email="nino@example.org")
    page = auth.client.get("/account?lang=en").get_data(as_text=True)
    assert "Your statements of gifts" in page
    found = re.findall(r'href="https?://[^/"]+(/donors/statement/[^"]+)"', page)
    assert len(found) == 4  # two years, each as a page and a PDF
    first = auth.client.get(found[0])
    assert first.status_code == 200
    assert f"Statement of gifts {LAST_YEAR}" in first.get_data(as_text=True)
    assert "€30.00" in first.get_data(as_text=True)


def test_the_account_page_has_no_statements_without_gifts(app, auth):
    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    assert "Your statements of gifts" not in auth.client.get("/account").get_data(as_text=True)
