"""WSGI entry point: ``gunicorn wsgi:app``."""

from provider import create_app

app = create_app()
