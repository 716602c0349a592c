"""``python -m stripe_sandbox --port 12111 --webhook-url ...``."""

from stripe_sandbox.cli import main

main()
