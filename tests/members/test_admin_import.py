"""The staff pages: upload a member file, preview it row by row, confirm; bad uploads refused."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from membership.accounts.models import User
from membership.audit import AuditEntry
from membership.extensions import db
from tests.conftest import csrf_token
from tests.members.conftest import sample, state, user


def upload(client, content: bytes, fmt: str, filename: str = "members.csv"):
    """POST the upload form with a file."""
    token = csrf_token(client, "/admin/members/import")
    return client.post(
        "/admin/members/import",
        data={"csrf_token": token, "fmt": fmt, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_upload_preview_confirm(app, catalogue, client, staff, mailbox):
    sent = upload(client, sample("ghost").read_bytes(), "ghost", "ghost-members.csv")
    assert sent.status_code == 303
    preview_url = sent.headers["Location"]
    assert re.fullmatch(r"/admin/members/import/[A-Za-z0-9_-]{20,64}", preview_url)
    page = client.get(preview_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "ghost-members.csv" in html and "Nothing has been written yet" in html
    assert re.search(r'id="count-create">4<', html) and re.search(r'id="count-error">5<', html)
    assert "Unknown tier: Platinum" in html and "created_at is not a date: yesterday" in html
    assert "nino.beridze@example.ge" in html
    assert "linked to Stripe customer cus_GhostAnahit01" in html
    assert state(app)["users"] == {"staff@example.org": state(app)["users"]["staff@example.org"]}

    token = csrf_token(client, preview_url)
    done = client.post(preview_url, data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"] == "/admin/members"
    followed = client.get("/admin/members").get_data(as_text=True)
    assert "Imported 10 rows: 4 new readers" in followed
    assert user(app, "anahit.petrosyan@example.am").stripe_customer_id == "cus_GhostAnahit01"
    assert mailbox.messages == []
    with app.app_context():
        runs = select(AuditEntry).where(AuditEntry.action == "members.imported")
        run = db.session.scalars(runs).one()
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff@example.org"))
        assert run.actor_id == staff_id and run.details["counts"]["create"] == 4
    assert client.get(preview_url).status_code == 404  # the file is gone once imported

    again = client.get(upload(client, sample("ghost").read_bytes(), "ghost").headers["Location"])
    html = again.get_data(as_text=True)
    assert re.search(r'id="count-unchanged">4<', html) and "Nothing to import" in html


def test_invite_from_the_page(app, catalogue, client, staff, mailbox):
    preview_url = upload(client, sample("csv").read_bytes(), "csv").headers["Location"]
    token = csrf_token(client, preview_url)
    client.post(preview_url, data={"csrf_token": token, "invite": "y"})
    assert "salome@example.ge" in [m["To"] for m in mailbox.messages]


@pytest.mark.parametrize(
    "content, fmt, words",
    [
        (b"email,name\nnino@example.ge,Nino\n", "ghost", "not Ghost&#39;s member export"),
        (b"Name,Email\nNino,nino@example.ge\n", "substack", "not Substack&#39;s member export"),
        (b"", "csv", "The file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "csv", "not a CSV file in UTF-8"),
        ("email,name\nzoë@example.org,Zoë\n".encode("latin-1"), "csv", "not a CSV file in UTF-8"),
        (b"email\nnino@example.ge\n", "mailchimp", "Not a valid choice"),
    ],
)
def test_bad_uploads_get_the_form_again_with_the_reason(
    app,
    catalogue,
    client,
    staff,
    upload_folder,
    content,
    fmt,
    words,
):
    answer = upload(client, content, fmt)
    assert answer.status_code == 422
    assert words in answer.get_data(as_text=True)
    assert list(upload_folder.glob("*")) == []  # nothing kept


@pytest.mark.config(MEMBER_IMPORT_MAX_BYTES=2048)
def test_a_file_too_big_is_refused_with_the_limit(app, catalogue, client, staff):
    big = b"email,name\n" + b"".join(b"r%d@example.org,Reader\n" % i for i in range(200))
    answer = upload(client, big, "csv")
    assert answer.status_code == 422 and "larger than 1 MB" in answer.get_data(as_text=True)
    huge = b"email,name\n" + b"x" * (200 * 1024)  # beyond the request limit itself
    answer = upload(client, huge, "csv")
    assert answer.status_code == 413 and "larger than 1 MB" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 1  # staff only


def test_an_unknown_or_forged_token_is_404(app, client, staff):
    assert client.get("/admin/members/import/" + "a" * 32).status_code == 404
    assert client.get("/admin/members/import/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_members_cannot_import(app, catalogue, client, auth):
    from tests.factories import make_user

    with app.app_context():
        make_user(email="reader@example.org")
    auth.login()
    assert client.get("/admin/members/import").status_code == 403
