"""An offline stand-in for Stripe's HTTP API, for the demo and the test-suite only."""

SANDBOX_API_KEY = "sk_test_sandbox"
# A fixed, public test secret: the sandbox is never reachable from outside.
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_0000000000000000000000000000"  # noqa: S105  # nosec B105
API_VERSION = "2026-10-28.endive"

from stripe_sandbox.server import SandboxServer  # noqa: E402

__all__ = ["API_VERSION", "SANDBOX_API_KEY", "SANDBOX_WEBHOOK_SECRET", "SandboxServer"]
