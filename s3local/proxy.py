"""An HTTP/1.1-aware TCP proxy in front of the S3 server: latency, operation counts, faults.

It follows each request and response on a connection (Content-Length or
chunked bodies, ``Expect: 100-continue``, keep-alive), so it can name every S3
operation and answer or break individual requests, while bytes stream through
untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from urllib.parse import unquote

from s3local import faults, http1
from s3local.faults import Decision, FaultPicker, FaultPlan
from s3local.holds import Hold
from s3local.operations import classify_head, split_target
from s3local.service import Service

_QUEUE_PIECES = 256  # per direction: bounds memory when the receiver is slow
_STREAM_LIMIT = 1 << 20  # largest message head we accept
_log = logging.getLogger(__name__)


class _Abort(Exception):
    """Drop the client connection with a TCP reset."""


class _DelayedSink:
    """Writes each piece to ``writer`` ``latency()`` seconds after it was handed over.

    Pieces are pipelined: each waits only for its own deadline, so latency is
    added once per direction without throttling bandwidth. ``latency`` is read
    per piece, so changing the proxy's latency applies to open connections too.
    """

    def __init__(self, writer: asyncio.StreamWriter, latency: Callable[[], float]) -> None:
        self._writer = writer
        self._latency = latency
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(_QUEUE_PIECES)
        self._error: BaseException | None = None
        self._pump_task = asyncio.create_task(self._pump())

    async def send(self, data: bytes) -> None:
        if self._error is not None:
            raise ConnectionError("peer connection failed") from self._error
        await self._queue.put((self._loop.time() + self._latency(), data))

    async def flush(self) -> None:
        await self._queue.join()
        if self._error is not None:
            raise ConnectionError("peer connection failed") from self._error

    async def _pump(self) -> None:
        while True:
            due, data = await self._queue.get()
            try:
                if self._error is None:
                    delay = due - self._loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    self._writer.write(data)
                    await self._writer.drain()
            except (ConnectionError, OSError) as exc:
                # Keep consuming so flush() and senders never wait forever.
                self._error = exc
            finally:
                self._queue.task_done()

    def close(self, reset: bool = False) -> None:
        self._pump_task.cancel()
        transport = self._writer.transport
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    # Linger 0: close() sends RST, as a crashed peer would.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()


class _Connection:
    """One client connection and the upstream connection that serves it."""

    def __init__(
        self, proxy: S3Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.reader = reader
        self.to_client = _DelayedSink(writer, lambda: proxy.latency)
        self.up_reader: asyncio.StreamReader | None = None
        self.to_upstream: _DelayedSink | None = None

    async def run(self) -> None:
        reset = False
        try:
            while True:
                request = await http1.read_head(self.reader)
                if request is None or not await self._handle(request):
                    break
            await self.to_client.flush()
        except _Abort:
            reset = True
        except (ConnectionError, OSError, asyncio.IncompleteReadError, http1.ProtocolError):
            pass  # a broken peer ends this connection only
        except Exception:
            # Whatever a peer sends must not take the proxy down; leave a trace.
            _log.debug("proxy connection failed", exc_info=True)
        finally:
            self.to_client.close(reset=reset)
            self._close_upstream()

    async def _handle(self, request: http1.Head) -> bool:
        """Serve one request; return whether the connection stays open."""
        operation = self.proxy.classify(request)
        _, key, _ = split_target(request.target)
        decision = self.proxy._admit(request.method, key, operation, unquote(request.target))
        framing = http1.request_framing(request)
        hold = self.proxy._hold_for(operation, key)
        if hold is not None:
            while not hold.released:  # polled: a threading event must not block the loop
                await asyncio.sleep(0.01)
        if decision is not None and decision.kind in (faults.ERROR, faults.DENY):
            return await self._answer_locally(request, framing, decision)
        if decision is not None and decision.kind == faults.RESET and framing.has_body:
            await self._reset_mid_body(request)  # raises _Abort
        return await self._forward(request, framing, decision)

    async def _answer_locally(
        self, request: http1.Head, framing: http1.Framing, decision: Decision
    ) -> bool:
        # A client waiting for 100 Continue never sends the body, so answer at
        # once and close; otherwise read the body first, as a server would.
        keep_alive = request.keep_alive and not request.expects_continue
        if keep_alive:
            await http1.relay_body(self.reader, framing, http1.discard)
        await asyncio.sleep(self.proxy.latency)  # the trip to the server
        response = faults.error_response(
            decision.status, request.target.split("?", 1)[0], request.method == "HEAD", keep_alive
        )
        await self.to_client.send(response)
        return keep_alive

    async def _reset_mid_body(self, request: http1.Head) -> None:
        if request.expects_continue:
            await self.to_client.send(faults.CONTINUE)
        await self.reader.read(http1.PIECE)  # some of the body is on its way
        raise _Abort

    async def _forward(
        self, request: http1.Head, framing: http1.Framing, decision: Decision | None
    ) -> bool:
        to_upstream = await self._upstream()
        await to_upstream.send(request.raw)
        body = asyncio.create_task(http1.relay_body(self.reader, framing, to_upstream.send))
        response = asyncio.create_task(self._relay_response(request, decision))
        try:
            await asyncio.wait({body, response}, return_when=asyncio.FIRST_COMPLETED)
            if not response.done():
                body.result()  # raises if the client broke off mid-body
                await response
            keep_alive = response.result()
            if not body.done():
                # The server answered before the whole body arrived (a 100-continue
                # refusal or an early error): the stream position is unknown.
                return False
            return keep_alive and request.keep_alive
        finally:
            for task in (body, response):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task

    async def _relay_response(self, request: http1.Head, decision: Decision | None) -> bool:
        assert self.up_reader is not None
        while True:
            head = await http1.read_head(self.up_reader)
            if head is None:
                raise ConnectionError("server closed the connection before responding")
            if 100 <= head.status < 200 and head.status != 101:
                await self.to_client.send(head.raw)  # 100 Continue and friends
                continue
            break
        if decision is not None and decision.kind == faults.RESET:
            raise _Abort  # the server acted; the client never hears of it
        if decision is not None and decision.kind == faults.STALL:
            await asyncio.sleep(decision.seconds)
        await self.to_client.send(head.raw)
        framing = http1.response_framing(head, request.method)
        await http1.relay_body(self.up_reader, framing, self.to_client.send)
        if not head.keep_alive or framing.kind == "close":
            self._close_upstream()
            return False
        return True

    async def _upstream(self) -> _DelayedSink:
        """The upstream connection, reopened if the server closed an idle one."""
        if self.to_upstream is None or self.up_reader is None or self.up_reader.at_eof():
            self._close_upstream()
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", self.proxy.upstream_port, limit=_STREAM_LIMIT
            )
            self.up_reader = reader
            self.to_upstream = _DelayedSink(writer, lambda: self.proxy.latency)
        return self.to_upstream

    def _close_upstream(self) -> None:
        if self.to_upstream is not None:
            self.to_upstream.close()
        self.to_upstream = None
        self.up_reader = None


class S3Proxy(Service):
    """A proxy on 127.0.0.1 in front of ``upstream_port``, run by a background thread.

    ``latency`` is added in each direction (seconds; may be changed at any
    time). ``counts`` names every request's operation (S3's, unless another
    ``classify`` names them, as for the emulators), ``http_requests`` counts
    them all, ``faults`` (a :class:`FaultPlan`, replaceable at any time)
    injects failures, counted by kind in ``fault_counts``.
    """

    def __init__(
        self,
        upstream_port: int,
        latency: float = 0.0,
        classify: Callable[[http1.Head], str] = classify_head,
    ) -> None:
        self.upstream_port = upstream_port
        self.latency = latency
        self.classify = classify
        self.port = 0
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._http_requests = 0
        self._connections = 0
        self._picker = FaultPicker(FaultPlan())
        self._holds: list[Hold] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- observation ------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        if not self.port:
            raise RuntimeError("S3Proxy is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def counts(self) -> Counter[str]:
        """A snapshot: S3 operation name -> requests seen (faulted ones included)."""
        with self._lock:
            return Counter(self._counts)

    @property
    def fault_counts(self) -> Counter[str]:
        """A snapshot: fault kind (error, reset, stall, deny) -> times injected."""
        with self._lock:
            return Counter(self._fault_counts)

    @property
    def http_requests(self) -> int:
        with self._lock:
            return self._http_requests

    @property
    def connections(self) -> int:
        """Client connections accepted: shows whether clients reuse connections."""
        with self._lock:
            return self._connections

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._fault_counts.clear()
            self._http_requests = 0
            self._connections = 0

    @property
    def faults(self) -> FaultPlan:
        return self._picker.plan

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        # A fresh picker restarts the seeded random sequence and the max_faults budget.
        self._picker = FaultPicker(plan or FaultPlan())

    def hold(self, operation: str, key: str | None = None, skip: int = 0, count: int = 1) -> Hold:
        """Keep matching requests from the server until ``release()`` (see holds.py)."""
        hold = Hold(operation, key, skip, count)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _hold_for(self, operation: str, key: str) -> Hold | None:
        with self._lock:
            holds = list(self._holds)
        return next((h for h in holds if h.takes(operation, key)), None)

    def _admit(self, method: str, key: str, operation: str, target: str = "") -> Decision | None:
        decision = self._picker.decide(method, key, operation, target)
        with self._lock:
            self._http_requests += 1
            self._counts[operation] += 1
            if decision is not None:
                self._fault_counts[decision.kind] += 1
        return decision

    # -- lifecycle --------------------------------------------------------

    def start(self, timeout: float = 5.0) -> S3Proxy:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, failure), name="s3local-proxy", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout) or failure:
            self.stop()
            raise RuntimeError("S3Proxy failed to start") from (failure[0] if failure else None)
        return self

    def _run(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._accept, "127.0.0.1", 0, limit=_STREAM_LIMIT)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self._connections += 1
        try:
            await _Connection(self, reader, writer).run()
        except asyncio.CancelledError:
            # Only stop() cancels these top-level tasks. Ending normally keeps
            # Python 3.11's stream callback from logging the cancellation.
            pass
        finally:
            self._tasks.discard(task)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)
        # Let the cancelled connections' transports finish closing.
        await asyncio.sleep(0)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection; returns within about ``timeout``."""
        loop, thread = self._loop, self._thread
        self._thread = None
        if loop is None or thread is None:
            return
        # Scheduling works even before run_forever() starts; a loop that
        # failed at startup is already closed and refuses it.
        with contextlib.suppress(RuntimeError):
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._loop = None
        self._server = None
        self.port = 0
