"""Command-line interface (``cxml train``, ``cxml score``)."""

from cxml.cli._app import app, main

__all__ = ["app", "main"]
