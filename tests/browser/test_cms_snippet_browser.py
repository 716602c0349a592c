"""The browser snippet of docs/cms-integration.md, as printed there, on a CMS page of another
origin: in a `<script type="module">` it reads the signed-in reader's answer with credentials;
in a classic script it cannot run at all, which is why the page says where it goes."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.access.conftest import AccessWorld
from tests.cms.samples import DOC, sample
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _cms_page(snippet: str):
    """A CMS on a port of its own, serving any path as a page with the snippet in a module
    script (at /classic…, in a classic script)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            kind = "" if self.path.startswith("/classic") else ' type="module"'
            body = (
                "<!doctype html><html><head><title>CMS</title></head><body><p>An article</p>"
                f"<script{kind}>\n{snippet}\ndocument.body.dataset.answer = JSON.stringify(answer);"
                "\n</script></body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_browser_snippet_in_a_module_script_on_the_cms(app, live_server, page):
    world = AccessWorld(app)
    assert "await fetch(" in sample("browser", "")  # a top-level await: a module script only,
    assert '<script type="module">' in _prose_before("browser")  # and the page says so
    server = _cms_page(sample("browser", live_server))
    cms = f"http://127.0.0.1:{server.server_port}"
    app.config["CMS_ORIGINS"] = [cms]
    world.rule("path", "/investigations", "members-only-articles")
    user = world.user("nino@example.org")
    world.grant(user)
    try:
        page.goto(f"{live_server}/login")  # the reader signs in on the app, then reads the CMS
        page.get_by_label("E-mail", exact=True).fill("nino@example.org")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/account")

        page.goto(f"{cms}/investigations/the-river-report")
        expect(page.locator("body")).to_have_attribute("data-answer", re.compile("allowed"))
        answer = json.loads(page.locator("body").get_attribute("data-answer"))
        assert answer["allowed"] is True and answer["reason"] == "perk"

        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{cms}/classic/investigations/the-river-report")
        expect(page.get_by_text("An article")).to_be_visible()
        page.wait_for_function("() => document.readyState === 'complete'")
        assert page.locator("body").get_attribute("data-answer") is None
        assert errors and "await" in errors[0]  # a classic script cannot hold it
    finally:
        server.shutdown()
        server.server_close()


def _prose_before(name: str) -> str:
    """The paragraph of the page just above a sample."""
    text = DOC.read_text()
    at = text.index(f"<!-- sample: {name} -->")
    return text[max(0, text.rfind("\n\n", 0, at - 2)) : at]
