"""The User-Agent header, built once per set of features instead of twice per request.

botocore builds the whole User-Agent string twice for every request: once
when it serializes the call, and again, last on request-created, to add the
features that request used. For a deploy's thousands of PutObjects that is
about 7% of the CPU each request costs in Python. The string depends only on
the client (fixed once it is made) and on that feature set, so the client's
builder is given a cache keyed by the feature set: every request still
carries exactly the header botocore would give it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from botocore.client import BaseClient
from botocore.context import get_context


class CachedUserAgent:
    """A client's ``to_string``, remembered per feature set of the current request."""

    def __init__(self, build: Callable[[], str]) -> None:
        self._build = build
        self._strings: dict[frozenset[str], str] = {}
        self._lock = threading.Lock()

    def __call__(self) -> str:
        context = get_context()
        features = frozenset(context.features) if context is not None else frozenset()
        found = self._strings.get(features)
        if found is None:
            with self._lock:
                found = self._strings.setdefault(features, self._build())
        return found


def cache_user_agent(client: BaseClient) -> bool:
    """Give ``client``'s User-Agent builder the cache; False (nothing changed) where
    this botocore builds it some other way."""
    creator = getattr(client, "_user_agent_creator", None)
    build = getattr(creator, "to_string", None)
    if build is None or not hasattr(creator, "rebuild_and_replace_user_agent_handler"):
        return False
    # Each client has its own builder (botocore copies it with the client's
    # config), so this changes no other client.
    creator.to_string = CachedUserAgent(build)  # type: ignore[union-attr]
    return True
