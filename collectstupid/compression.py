"""WhiteNoise's compression during staging: each distinct content compressed once, by
WhiteNoise's own compressor, and only for the files the profile ships.
See docs/local-targets.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any


def compresses(cls: type) -> bool:
    """Whether ``cls`` compresses its files the way WhiteNoise's manifest storage does."""
    return callable(getattr(cls, "compress_files", None)) and callable(
        getattr(cls, "create_compressor", None)
    )


def _plain_compressor(compressor: Any) -> bool:
    try:
        from whitenoise.compress import Compressor
    except ImportError:
        return False
    # A subclass may decide by name or path: only WhiteNoise's own decides by content alone.
    return type(compressor) is Compressor


@dataclass(frozen=True)
class _Compressed:
    """What compressing one file gave: its file's identity, and each output's suffix,
    bytes and path."""

    source: tuple[int, int]
    outputs: list[tuple[str, bytes, str]]


def once_per_content(compressor: Any) -> Callable[[str], list[str]]:
    """``compressor.compress``, doing the work once for each distinct file content."""
    compress = compressor.compress
    done: dict[tuple[int, bytes], Future[_Compressed]] = {}
    lock = threading.Lock()

    def compress_once(path: str) -> list[str]:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            data = f.read()
        key = (len(data), hashlib.sha256(data).digest())
        with lock:
            first = key not in done
            if first:
                done[key] = Future()
            result = done[key]
        if first:
            try:
                names = compress(path)
                outputs = []
                for name in names:
                    with open(name, "rb") as f:
                        outputs.append((name[len(path) :], f.read(), name))
            except BaseException as exc:
                result.set_exception(exc)
                raise
            result.set_result(_Compressed((info.st_dev, info.st_ino), outputs))
            return names
        made = result.result()
        if made.source == (info.st_dev, info.st_ino):
            # The same file under a second name (a hashed copy staging linked to
            # its original): its compressed files are the first's, timestamps
            # included, so they are linked rather than written again.
            return [_link(name, path + suffix) for suffix, _, name in made.outputs]
        return [compressor.write_data(path, body, suffix, info) for suffix, body, _ in made.outputs]

    return compress_once


def _link(existing: str, path: str) -> str:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
    os.link(existing, path)
    return path


class SharedCompression:
    """Put in front of a staged WhiteNoise storage class (see stage.staged_class)."""

    ships: Callable[[], Callable[[str], bool]]

    def create_compressor(self, **kwargs: Any) -> Any:
        compressor = super().create_compressor(**kwargs)  # type: ignore[misc]
        if _plain_compressor(compressor):
            compressor.compress = once_per_content(compressor)
        return compressor

    def compress_files(self, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
        ships = self.ships()
        return super().compress_files([p for p in paths if ships(p)])  # type: ignore[misc]
