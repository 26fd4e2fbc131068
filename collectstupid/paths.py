"""The one rule for a path that must stay inside a storage's location."""

from __future__ import annotations


def is_safe_relative(path: str) -> bool:
    """True for a ``/``-separated relative path that cannot climb out of where it is joined.

    No empty, ``.`` or ``..`` part (so no leading, trailing or doubled ``/``), no
    backslash (a separator on Windows and on some storages), no NUL byte.
    """
    if not path or "\\" in path or "\x00" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))
