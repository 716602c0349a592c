"""The fundraiser widget framed by a newsroom's page on another site sizes its iframe to its
content at phone, tablet and desktop widths: the "Give now" button is never cut off."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.fundraisers.conftest import SLUG, campaign  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def newsroom_page(live_server):
    """An article page on another origin that frames the widget with the documented snippet."""
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Article</title>
<style>body{{font-family:sans-serif;margin:0;padding:8px}}</style></head><body>
<main><h1>An article</h1><p>Some reporting.</p>
<iframe src="{live_server}/fundraisers/{SLUG}/embed" title="Progress" width="100%" height="200"
        style="display:block;border:0;width:100%;max-width:520px"></iframe>
<script src="{live_server}/static/js/embed-host.js" async></script>
<p>More reporting.</p></main></body></html>""".encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/article"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _fits(page) -> tuple[float, float]:
    """(iframe height, the widget document's height) once the host script has sized it."""
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("link", name="Give now")).to_be_visible()
    inner = page.frames[1]
    page.wait_for_function(
        "want => Math.abs(document.querySelector('iframe').getBoundingClientRect().height - want)"
        " <= 1",
        arg=inner.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)"),
    )
    outer = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
    content = inner.evaluate("document.documentElement.getBoundingClientRect().height")
    return outer, content


def test_the_widget_sizes_its_frame_at_every_width(campaign, browser, newsroom_page):  # noqa: F811
    heights = {}
    for width in (320, 768, 1280):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        try:
            page.goto(newsroom_page)
            outer, content = _fits(page)
            heights[width] = outer
            button = page.frame_locator("iframe").get_by_role("link", name="Give now")
            box = button.bounding_box()  # in the top page's coordinates
            frame_box = page.locator("iframe").bounding_box()
            assert box["y"] + box["height"] <= frame_box["y"] + frame_box["height"]
            assert box["x"] + box["width"] <= frame_box["x"] + frame_box["width"]
            assert abs(outer - content) <= 1
            shot(page, f"embed-{width}")
        finally:
            context.close()
    assert heights[320] >= heights[1280]  # a phone wraps; the frame grew with it


def test_the_host_script_ignores_messages_from_other_origins(campaign, page, newsroom_page):  # noqa: F811
    page.goto(newsroom_page)
    outer, _content = _fits(page)
    # The article page itself (another origin than the widget's) pretends to be the widget.
    page.evaluate("window.postMessage({type: 'membership:embed-height', height: 1500}, '*')")
    page.wait_for_timeout(200)  # give a wrong listener the chance to act; nothing should change
    after = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
    assert after == outer
