"""`make load`: a locust run against a local production-like stack (see load/__main__.py)."""
