"""Run the sandbox in the foreground: ``python -m stripe_sandbox`` or ``flask stripe sandbox``."""

from __future__ import annotations

import argparse
import contextlib
import logging

from stripe_sandbox import SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET
from stripe_sandbox.server import SandboxServer


def serve(
    host: str = "127.0.0.1",
    port: int = 12111,
    webhook_url: str | None = None,
    webhook_secret: str = SANDBOX_WEBHOOK_SECRET,
    state_file: str | None = None,
) -> None:
    """Serve until Ctrl-C, logging each webhook delivery."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("stripe_sandbox.webhooks").setLevel(logging.INFO)
    server = SandboxServer(
        host=host, port=port, webhook_url=webhook_url, webhook_secret=webhook_secret,
        state_file=state_file,
    )  # fmt: skip
    print(f"Stripe sandbox on http://{host}:{port} (api key {SANDBOX_API_KEY}); "
          f"webhooks -> {webhook_url or 'stored only'}. Ctrl-C stops it.")  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Parse command-line options and serve."""
    parser = argparse.ArgumentParser(prog="stripe_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=SANDBOX_WEBHOOK_SECRET)
    parser.add_argument("--state-file", default=None)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.webhook_url, args.webhook_secret, args.state_file)
