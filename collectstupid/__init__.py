"""Deploy Django static files to remote storage without per-file checks."""

__version__ = "26.11.0"
