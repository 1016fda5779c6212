"""WSGI entry point, for any WSGI server (``granian --interface wsgi wsgi:app``);
``provider serve`` runs the app behind its own front instead (provider/serving)."""

from provider import create_app

app = create_app()
