"""PutObjects replayed from the request botocore sent for the same parameters: only what
depends on the key, the body, the time or the call is rebuilt, and a template is used only
once it rebuilds botocore's own request exactly, signature included. See docs/cpu.md.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import io
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, HeadersDict
from botocore.client import BaseClient
from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError
from botocore.utils import percent_encode

from collectstupid.s3 import sigv4

EVENT = "before-send.s3.PutObject"
# Files up to this size are read whole, to hash and send them in one piece:
# 16 workers hold at most 16 MB; larger files stream through botocore.
MAX_SIZE = 1024 * 1024
UNSIGNED = "UNSIGNED-PAYLOAD"
# What botocore's HTTP layer raises for an attempt that got no answer (a reset or
# refused connection, a read or connect timeout): the errors botocore retries.
LOST = (HTTPClientError, BotoConnectionError)


class Replayed(enum.Enum):
    """What ``Replay.put`` did with a file."""

    SENT = "sent"  # it landed
    UNTRIED = "untried"  # no template for its parameters (yet): nothing was sent
    REFUSED = "refused"  # the server answered with an error a retry cannot help (403, 400)
    RETRYABLE = "retryable"  # the server answered with an error a retry can help (5xx)


# The members by module names, for the hot path: on Python 3.11 looking up an enum's
# member on its class costs about ten times a global's (measured with timeit).
SENT, UNTRIED = Replayed.SENT, Replayed.UNTRIED


def _crc32(body: bytes) -> str:
    return base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()


def _digest(name: str) -> Callable[[bytes], str]:
    return lambda body: base64.b64encode(hashlib.new(name, body).digest()).decode()


# Headers computed from the body; a template with any other checksum is refused.
BODY_HEADERS: dict[str, Callable[[bytes], str]] = {
    "content-md5": _digest("md5"),
    "x-amz-checksum-crc32": _crc32,
    "x-amz-checksum-sha1": _digest("sha1"),
    "x-amz-checksum-sha256": _digest("sha256"),
}
# A request with one of these is not a signed PUT of the body as botocore sends it.
REFUSED = {"date", "expect", "x-amz-s3session-token"}
# Over HTTPS botocore sends the checksum after the body (aws-chunked): the
# headers that say so, and what the payload hash then is.
TRAILER_HEADERS = {"transfer-encoding", "x-amz-trailer", "x-amz-decoded-content-length"}
STREAMING = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# botocore's aws-chunked chunk size: a file up to MAX_SIZE is one chunk.
AWS_CHUNK = 1024 * 1024


def aws_chunked(body: bytes, trailer: str) -> bytes:
    """``body`` in botocore's aws-chunked encoding, its checksum in the trailer."""
    pieces = (body[at : at + AWS_CHUNK] for at in range(0, len(body), AWS_CHUNK))
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return chunks + b"0\r\n%s:%s\r\n\r\n" % (trailer.encode(), BODY_HEADERS[trailer](body).encode())


def text(value: str | bytes) -> str:
    # botocore's ensure_unicode leaves bytes as they are on Python 3.
    return value.decode() if isinstance(value, bytes) else value


def shape(params: dict[str, Any]) -> Hashable | None:
    """What a template is kept under: every parameter but the key and body."""
    try:
        key = tuple(
            sorted(
                (name, tuple(sorted(value.items())) if isinstance(value, dict) else value)
                for name, value in params.items()
            )
        )
        hash(key)
    except TypeError:
        return None  # an unhashable value: such a file goes through botocore
    return key


@dataclass(frozen=True)
class Template:
    """One PutObject as botocore sent it, ready to be sent again for another file."""

    url_prefix: str  # the URL up to the encoded key
    headers: tuple[tuple[str, str | bytes], ...]
    scope: sigv4.Scope
    host: str
    payload: str  # the payload hash header: "" for the body's SHA-256, else as sent
    trailer: str  # the trailing checksum's header name, "" for a plain body
    token: bool  # whether it carries a session token (credentials of that kind)
    authorization_at: int  # where in ``headers`` the Authorization header is

    @classmethod
    def from_request(cls, request: Any, key: str) -> Template | None:
        """The template of ``request`` (a PutObject of ``key``), or None where refused."""
        encoded = percent_encode(key, safe="/~")
        url: str = request.url
        if request.method != "PUT" or "?" in url or not url.endswith("/" + encoded):
            return None
        headers = tuple((str(name), value) for name, value in request.headers.items())
        names = {name.lower(): text(value) for name, value in headers}
        if REFUSED & names.keys():
            return None
        if any(n.startswith("x-amz-checksum-") and n not in BODY_HEADERS for n in names):
            return None
        scope = sigv4.read_authorization(names.get("authorization", ""))
        if scope is None or "x-amz-date" not in names:
            return None
        if any(name != "host" and name not in names for name in scope.signed_headers):
            return None
        payload = names.get("x-amz-content-sha256", "")
        trailer = names.get("x-amz-trailer", "")
        chunked = names.get("content-encoding", "").split(",")[-1].strip() == "aws-chunked"
        if trailer:
            plain = False
            if (
                not (names.keys() >= TRAILER_HEADERS and chunked)
                or names["transfer-encoding"] != "chunked"
                or payload != STREAMING
                or trailer not in BODY_HEADERS
                or trailer in names
                or "content-length" in names
            ):
                return None
        else:
            plain = "content-length" in names and not (TRAILER_HEADERS & names.keys())
            if not plain or chunked or not (payload == UNSIGNED or len(payload) == 64):
                return None
        return cls(
            url_prefix=url[: -len(encoded)],
            headers=headers,
            scope=scope,
            host=_host(url),
            payload="" if plain and payload != UNSIGNED else payload,
            trailer=trailer,
            token="x-amz-security-token" in names,
            authorization_at=[name.lower() for name, _ in headers].index("authorization"),
        )

    def request(
        self,
        key: str,
        body: bytes,
        credentials: ReadOnlyCredentials,
        timestamp: str,
        invocation: str,
    ) -> AWSPreparedRequest | None:
        """The PutObject of ``body`` to ``key``; None if the credentials changed kind."""
        token = credentials.token
        if (token is not None) != self.token:
            return None
        per_request: dict[str, str] = {
            "content-length": str(len(body)),
            "x-amz-decoded-content-length": str(len(body)),
            "x-amz-content-sha256": self.payload or hashlib.sha256(body).hexdigest(),
            "x-amz-date": timestamp,
            "amz-sdk-invocation-id": invocation,
        }
        if token is not None:
            per_request["x-amz-security-token"] = token
        url = self.url_prefix + percent_encode(key, safe="/~")
        values = {"host": self.host}
        headers = []
        for name, value in self.headers:
            lower = name.lower()
            if lower in BODY_HEADERS:
                value = _same_type(value, BODY_HEADERS[lower](body))
            elif lower in per_request:
                value = _same_type(value, per_request[lower])
            headers.append((name, value))
            values[lower] = text(value)
        # Signed last, in the place botocore gave it among the headers.
        signature = sigv4.authorization(self.scope, credentials, "PUT", urlsplit(url).path, values)
        at = self.authorization_at
        headers[at] = (headers[at][0], _same_type(headers[at][1], signature))
        if self.trailer:
            # A file object, as botocore's: the HTTP layer sends it in the same chunks.
            chunked = io.BytesIO(aws_chunked(body, self.trailer))
            return AWSPreparedRequest("PUT", url, HeadersDict(headers), chunked, False)
        return AWSPreparedRequest("PUT", url, HeadersDict(headers), body, False)


def _same_type(like: str | bytes, value: str) -> str | bytes:
    return value.encode() if isinstance(like, bytes) else value


def _host(url: str) -> str:
    # As botocore's signer names the host: no default port, no user info.
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != {"http": 80, "https": 443}.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _body(request: Any) -> bytes | None:
    """The whole body of ``request``, left ready to be sent from its start."""
    body = request.body
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read") and hasattr(body, "seek"):
        # botocore sends a body from its start, and its aws-chunked wrapper can only
        # seek back there.
        body.seek(0)
        data = body.read()
        body.seek(0)
        return data if isinstance(data, bytes) else None
    return None


def _same(a: AWSPreparedRequest, b: AWSPreparedRequest, b_body: bytes | None) -> bool:
    return (
        a.method == b.method
        and a.url == b.url
        and list(a.headers.items()) == list(b.headers.items())
        and _body(a) == b_body
    )


def transient_status(status: int) -> bool:
    """Whether an answer with ``status`` is one a retry can help (as botocore judges)."""
    return status >= 500 or status in (408, 429)


class Replay:
    """The templates of one client's PutObjects, learned as the deploy goes.

    ``put`` sends a file from its combination's template, when there is one;
    ``learning`` wraps a PutObject sent through botocore and keeps its request
    as the template if it rebuilds exactly. Safe to use from many threads.
    """

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._send = client._endpoint._send
        self._credentials = client._request_signer._credentials
        self._templates: dict[Hashable, Template] = {}
        # Combinations botocore's request could not be rebuilt for: never tried again.
        self._refused: set[Hashable] = set()
        self._lock = threading.Lock()
        self._seen = threading.local()
        client.meta.events.register_last(EVENT, self._capture)

    @classmethod
    def for_client(cls, client: BaseClient) -> Replay | None:
        """A replay for ``client``, or None where botocore's internals are not as expected."""
        try:
            return cls(client)
        except AttributeError:
            return None

    def _capture(self, request: Any, **kwargs: Any) -> None:
        seen = getattr(self._seen, "requests", None)
        if seen is not None:
            # The body as it is about to be sent: read after the call, it is spent.
            seen.append((request, _body(request)))

    def credentials(self) -> ReadOnlyCredentials | None:
        """The client's credentials now (refreshed where they expire), as its signer takes them."""
        if self._credentials is None:
            return None
        frozen: ReadOnlyCredentials = self._credentials.get_frozen_credentials()
        return frozen

    def put(self, key: str, body: bytes, params: dict[str, Any]) -> Replayed:
        """Send ``body`` to ``key`` from its combination's template, as its first attempt.

        Raises what sending it raised: one of LOST where it was an attempt that
        got no answer, anything else where it was not sent.
        """
        combination = shape(params)
        template = self._templates.get(combination) if combination is not None else None
        credentials = self.credentials() if template is not None else None
        if template is None or credentials is None:
            return UNTRIED
        timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        request = template.request(key, body, credentials, timestamp, str(uuid.uuid4()))
        if request is None:
            self._forget(combination)
            return UNTRIED
        response = None
        for _, answer in self._client.meta.events.emit(EVENT, request=request):
            if answer is not None:
                response = answer
                break
        if response is None:
            response = self._send(request)
        status = int(response.status_code)
        if 200 <= status < 300:
            return SENT
        self._forget(combination)
        return Replayed.RETRYABLE if transient_status(status) else Replayed.REFUSED

    def _forget(self, combination: Hashable) -> None:
        # Learned again from the next file botocore sends: a template that failed
        # once (a redirect, new credentials) is not trusted on its own.
        with self._lock:
            self._templates.pop(combination, None)

    @contextmanager
    def learning(self, key: str, body: bytes, params: dict[str, Any]) -> Iterator[None]:
        """Around botocore's PutObject of ``body`` to ``key``: keep its request as a template."""
        combination = shape(params)
        if combination is None or combination in self._refused or combination in self._templates:
            yield
            return
        self._seen.requests = []
        try:
            yield
            sent = self._seen.requests
        finally:
            self._seen.requests = None
        if len(sent) != 1:
            return  # retried, or not sent by this client: nothing to learn from
        self._learn(combination, key, body, *sent[0])

    def _learn(
        self, combination: Hashable, key: str, body: bytes, sent: Any, sent_body: bytes | None
    ) -> None:
        template = Template.from_request(sent, key)
        credentials = self.credentials()
        rebuilt = None
        if template is not None and credentials is not None:
            headers = {str(n).lower(): text(v) for n, v in sent.headers.items()}
            rebuilt = template.request(
                key,
                body,
                credentials,
                headers["x-amz-date"],
                headers.get("amz-sdk-invocation-id", ""),
            )
        with self._lock:
            if template is not None and rebuilt is not None and _same(rebuilt, sent, sent_body):
                self._templates[combination] = template
            else:
                self._refused.add(combination)
