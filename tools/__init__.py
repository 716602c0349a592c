"""Developer tools run by the Makefile (tools/audit.py: the dependency audit of `make lint`)."""
