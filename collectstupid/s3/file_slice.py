"""Part of a file sent as a request's body, read again from the file each time botocore
reads it, and failing at once where the file shrank under the upload."""

from __future__ import annotations

import io
import os
from typing import IO, Any

from collectstupid.errors import SourceChanged


class FileSlice(io.RawIOBase):
    """``size`` bytes of a seekable file from ``start``, as a file of their own.

    botocore reads a body more than once (checksum, signature, send, and again
    on a retry after ``seek(0)``); positions here are relative to the part.
    """

    def __init__(self, file: IO[bytes], start: int, size: int, total: int = 0) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._size = size
        self._total = total or start + size  # the whole file's size, for the error
        self._pos = 0

    def __len__(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = min(max(base + offset, 0), self._size)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        left = self._size - self._pos
        if size is None or size < 0 or size > left:
            size = left
        if size == 0:
            return b""
        self._file.seek(self._start + self._pos)
        data = self._file.read(size)
        if len(data) < size:
            # The file shrank: the part can never be sent whole, and a body
            # shorter than its Content-Length would leave the server waiting.
            raise SourceChanged(
                f"changed while uploading: expected {self._total} bytes, "
                f"read {self._readable(self._start + self._pos + len(data))}"
            )
        self._pos += len(data)
        return data

    def _readable(self, reached: int) -> int:
        """How many bytes the file holds now, at most ``reached`` (where reading ended)."""
        try:
            return min(reached, os.fstat(self._file.fileno()).st_size)
        except (AttributeError, OSError, ValueError):
            return reached  # not a file on disk (io.UnsupportedOperation is an OSError)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
