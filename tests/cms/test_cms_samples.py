"""The samples of docs/cms-integration.md run as printed there (PHP with sodium, Node with jose,
Python with PyJWT), against a live app: a member's perks, the key set cached and not renewed by
hits, a rotated key accepted within a minute while old tokens work until they expire, and every
token that is not the app's own refused. The browser snippet and the API-key commands too."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time

import pytest

from membership.access.api_keys import create_api_key
from membership.accounts.models import Role, User
from membership.accounts.passwords import hash_password
from membership.extensions import db
from membership.timeutil import utcnow
from tests.cms.samples import CODE, blocks, sample
from tests.conftest import PASSWORD, unavailable
from tests.factories import make_user
from tests.forged_tokens import forged, signed

OLD = "2026-old:" + base64.urlsafe_b64encode(b"o" * 32).rstrip(b"=").decode()
NEW = "2027-new:" + base64.urlsafe_b64encode(b"n" * 32).rstrip(b"=").decode()
PERKS = ["members-only-articles"]
KEYS = "/api/v1/keys"


def test_every_code_block_of_the_page_runs_in_the_suite_or_says_why_not():
    code = [(kind, text, language) for kind, text, language, _code in blocks() if language in CODE]
    assert code, "no code samples found in docs/cms-integration.md"
    assert [(kind, text) for kind, text, _language in code if kind is None] == []
    run = sorted(text for kind, text, _language in code if kind == "sample")
    assert run == ["browser", "curl", "node", "php", "python"]


def test_every_php_block_parses_even_the_one_not_run(tmp_path):
    php = shutil.which("php")
    if php is None:
        unavailable("browser", "no php on PATH for the PHP samples")
    checked = 0
    for _kind, text, language, code in blocks():
        if language == "php":
            source = tmp_path / f"block{checked}.php"
            source.write_text(code if code.startswith("<?php") else f"<?php\n{code}\n")
            done = subprocess.run([php, "-l", str(source)], capture_output=True, text=True)
            assert done.returncode == 0, (text, done.stdout, done.stderr)
            checked += 1
    assert checked == 2  # sodium, and firebase/php-jwt


@pytest.mark.config(ACCESS_TOKEN_KEYS=OLD)
def test_the_sample_caches_the_keys_and_follows_a_key_rotation(verifier, app, world, key_fetches):
    user = world.user()
    world.grant(user)
    old = signed(app, user, PERKS)
    assert verifier.perks(old) == PERKS
    assert key_fetches.count(KEYS) == 1
    for _ in range(3):
        assert verifier.perks(old) == PERKS
    assert key_fetches.count(KEYS) == 1  # hits neither fetch nor renew the cached set
    verifier.advance(301)
    assert verifier.perks(old) == PERKS
    assert key_fetches.count(KEYS) == 2  # five minutes after it was fetched, fetched again

    app.config["ACCESS_TOKEN_KEYS"] = f"{NEW},{OLD}"  # rotation, step 1: a new key signs
    new = signed(app, user, PERKS)
    # Within 30 seconds of the last fetch an unknown kid does not fetch again: made-up key ids
    # cannot make every request a fetch. Half a minute later the new key is accepted.
    assert verifier.perks(new) is None
    assert key_fetches.count(KEYS) == 2
    verifier.advance(31)
    assert verifier.perks(new) == PERKS
    assert key_fetches.count(KEYS) == 3
    assert verifier.perks(old) == PERKS  # the old key's tokens work until they expire
    expired = signed(app, user, PERKS, kid="2026-old", exp=int(time.time()) - 60)
    assert verifier.perks(expired) is None
    rogue = forged(app, user, PERKS)["an unknown key id"]
    for _ in range(5):
        assert verifier.perks(rogue) is None
    assert key_fetches.count(KEYS) == 3

    app.config["ACCESS_TOKEN_KEYS"] = NEW  # step 2: the old key is gone
    verifier.advance(301)
    assert verifier.perks(old) is None
    assert verifier.perks(new) == PERKS


def test_the_sample_refuses_every_token_that_is_not_the_apps_own(verifier, app, world):
    user = world.user()
    assert verifier.perks(signed(app, user, PERKS)) == PERKS
    for why, token in forged(app, user, PERKS).items():
        assert verifier.perks(token) is None, why
    assert verifier.perks(signed(app, user, [])) == []  # a reader without perks is not nobody


def test_the_sample_logs_when_it_cannot_fetch_the_keys(verifier, app, world, key_fetches):
    user = world.user()
    world.grant(user)
    key_fetches.down = True  # /api/v1/keys answers 503
    assert verifier.perks(signed(app, user, PERKS)) is None  # every member is locked out,
    assert "members:" in verifier.close()  # and the log says so rather than nothing


# --- the API-key commands ---------------------------------------------------------------------


def test_the_api_key_commands_with_curl(app, world, live_server):
    curl = shutil.which("curl")
    if curl is None:
        unavailable("browser", "no curl on PATH for the API-key samples")
    with app.app_context():
        admin = make_user(email="admin@example.org", role=Role.admin)
        _row, key = create_api_key("CMS", admin)
        nino = User(
            id=42,
            email="nino@example.org",
            name="Nino",
            password_hash=hash_password(PASSWORD),
            locale="en",
            verified_at=utcnow(),
        )  # fmt: skip  (the member the page names: id 42, nino@example.org)
        db.session.add(nino)
        db.session.commit()
    world.grant(42)
    world.rule("path", "/investigations", "members-only-articles")
    done = subprocess.run(
        ["sh", "-ec", sample("curl", live_server, key)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    decoder, text, answers = json.JSONDecoder(), done.stdout.strip(), []
    while text:
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    assert [(a["allowed"], a["reason"], a["perks"]) for a in answers] == [
        (True, "perk", PERKS),  # /investigations/river for nino@example.org
        (True, "open", PERKS),  # article 4711 (no rule) for member 42
    ]
