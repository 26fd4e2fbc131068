"""Just enough HTTP/1.1 to find message boundaries on a stream, without buffering bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Relay bodies in pieces of this size, so large uploads stream through.
PIECE = 64 * 1024

Send = Callable[[bytes], Awaitable[None]]


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.x framing we can follow."""


@dataclass(frozen=True)
class Head:
    """A request or response head: start line, headers, and the exact bytes received."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    def get(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def has_token(self, name: str, token: str) -> bool:
        """Whether comma-separated header ``name`` lists ``token`` (case-insensitive)."""
        value = self.get(name) or ""
        return token.lower() in (part.strip().lower() for part in value.split(","))

    # Requests: "METHOD TARGET HTTP/1.1"
    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0].upper()

    @property
    def target(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    # Responses: "HTTP/1.1 200 OK"
    @property
    def status(self) -> int:
        parts = self.start_line.split(" ")
        try:
            return int(parts[1])
        except (IndexError, ValueError) as exc:
            raise ProtocolError(f"bad status line {self.start_line!r}") from exc

    @property
    def version(self) -> str:
        first = self.start_line.split(" ", 1)[0]
        return first if first.startswith("HTTP/") else self.start_line.rsplit(" ", 1)[-1]

    @property
    def keep_alive(self) -> bool:
        if self.has_token("Connection", "close"):
            return False
        if self.version == "HTTP/1.0":
            return self.has_token("Connection", "keep-alive")
        return True

    @property
    def expects_continue(self) -> bool:
        return (self.get("Expect") or "").lower() == "100-continue"


@dataclass(frozen=True)
class Framing:
    """How a body ends: ``none``, ``length`` (with ``size``), ``chunked`` or ``close``."""

    kind: str
    size: int = 0

    @property
    def has_body(self) -> bool:
        return self.kind == "chunked" or self.kind == "close" or self.size > 0


NO_BODY = Framing("none")


async def read_head(reader: asyncio.StreamReader) -> Head | None:
    """Read one head; ``None`` when the peer closed cleanly before sending anything."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip() == b"":
            return None
        raise ProtocolError("connection closed inside a message head") from exc
    except asyncio.LimitOverrunError as exc:
        raise ProtocolError("message head too large") from exc
    # RFC 9112 lets a stray CRLF precede a request line.
    text = raw.lstrip(b"\r\n").decode("latin-1")
    lines = text.split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line!r}")
        headers.append((name.strip(), value.strip()))
    return Head(lines[0], tuple(headers), raw)


def _declared_length(head: Head) -> Framing | None:
    if head.has_token("Transfer-Encoding", "chunked"):
        return Framing("chunked")
    length = head.get("Content-Length")
    if length is None:
        return None
    try:
        size = int(length)
    except ValueError as exc:
        raise ProtocolError(f"bad Content-Length {length!r}") from exc
    return Framing("length", size)


def request_framing(head: Head) -> Framing:
    return _declared_length(head) or NO_BODY


def response_framing(head: Head, request_method: str) -> Framing:
    status = head.status
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        return NO_BODY
    return _declared_length(head) or Framing("close")


async def relay_body(reader: asyncio.StreamReader, framing: Framing, send: Send) -> None:
    """Pass one body from ``reader`` to ``send`` piece by piece, framing bytes included."""
    if framing.kind == "length":
        await _relay_exactly(reader, framing.size, send)
    elif framing.kind == "chunked":
        await _relay_chunked(reader, send)
    elif framing.kind == "close":
        while data := await reader.read(PIECE):
            await send(data)


async def _relay_exactly(reader: asyncio.StreamReader, size: int, send: Send) -> None:
    remaining = size
    while remaining > 0:
        data = await reader.read(min(PIECE, remaining))
        if not data:
            raise asyncio.IncompleteReadError(b"", remaining)
        remaining -= len(data)
        await send(data)


async def _relay_chunked(reader: asyncio.StreamReader, send: Send) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        await send(line)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise ProtocolError(f"bad chunk size line {line!r}") from exc
        if size == 0:
            break
        await _relay_exactly(reader, size + 2, send)  # data and its CRLF
    # Trailer fields, if any, then the blank line that ends the body.
    while True:
        line = await reader.readuntil(b"\r\n")
        await send(line)
        if line == b"\r\n":
            return


async def discard(_data: bytes) -> None:
    """A ``Send`` that drops what it is given."""
