"""The version, in one place: the build reads it from here (importlib.metadata costs
30 ms of start-up to ask)."""

__version__ = "0.1.0"
