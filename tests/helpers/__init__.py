"""Shared test utilities: real plugin distributions on disk, and running the ``medzoo`` command."""
