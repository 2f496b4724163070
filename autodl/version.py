"""autodl's version, in a module of its own.

The editable install maps the top-level packages as namespace packages when Python starts
outside the repository (job processes do), and then ``autodl/__init__.py`` never runs:
``from autodl.version import __version__`` works either way, ``autodl.__version__`` only
when the package's ``__init__`` ran.
"""
__version__ = "0.1.0"
