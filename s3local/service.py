"""The context-manager shape every s3local helper shares: ``with X(...) as x``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Service:
    """Entering starts the service, leaving stops it, however the block ends."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
