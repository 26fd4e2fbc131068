"""Deploy Django static files to remote storage without per-file checks."""

__version__ = "0.1.0"
