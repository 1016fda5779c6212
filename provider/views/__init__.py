"""Thin blueprints, one per endpoint family."""
