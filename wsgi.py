"""WSGI entry point: `gunicorn wsgi:app`."""

from membership import create_app

app = create_app()
