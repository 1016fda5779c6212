"""Protocol policy on top of Authlib. ``server.py`` is the one wiring point."""
