"""The version, in one place: the build reads it from this file, and the library imports
it rather than asking importlib.metadata, which would slow every start-up."""

__version__ = "0.1.0"
