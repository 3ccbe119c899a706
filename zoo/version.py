"""medzoo's version, in a module of its own: any layer may read it without importing the package's front.

Usage::

    from zoo.version import __version__
"""

__version__ = "0.2.0"
