"""One pooled mTLS HTTP/2 connection to the sidecar, usable from any thread and any event loop.

An ``httpx.AsyncClient`` (and its HTTP/2 connection) belongs to the event loop that created it,
while agents call the kernel from threads, from long-lived loops and from a fresh
``asyncio.run`` per call. So the client lives on ONE private loop in a daemon thread (shared by
every connection of the process), and each call is a coroutine submitted to it: synchronous
callers block on the future, asynchronous callers await it on their own loop. Streams of one
connection multiplex over HTTP/2; cancelling the caller cancels the request (RST_STREAM).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import h2.errors
import httpx

from ._errors import CapgateConnectionError, error_from_envelope

T = TypeVar("T")

# Verbs whose repetition has no effect beyond the first call: retried once after a transport
# failure (a pooled connection the sidecar closed while idle, e.g. across a restart). The others
# (a grant consumes rate limit, an invoke runs the driver) are retried only when the connection
# itself could not be made or the request could not be written (a socket write that fails
# delivered no END_STREAM, so the sidecar never dispatched the request).
_IDEMPOTENT = frozenset(
    {"list_capabilities", "request_capabilities", "explain", "explain_denial", "query_traces",
     "stats", "revoke", "revoke_all", "health", "expand"}
)


# A request the sidecar provably did not process: its stream is above a graceful GOAWAY's
# last_stream_id (the sidecar drains a connection after maxStreamsPerConnection streams, and on
# shutdown), or it was refused (REFUSED_STREAM). Safe to send again for every verb.
_UNPROCESSED = re.compile(r"ConnectionTerminated error_code:(0|ErrorCodes\.NO_ERROR)\b|REFUSED_STREAM|error_code:7\b")


def _unprocessed(exc: BaseException) -> bool:
    return isinstance(exc, httpx.RemoteProtocolError) and bool(_UNPROCESSED.search(str(exc)))


class _IOLoop:
    """The process-wide private event loop that owns every capgate connection."""

    _lock = threading.Lock()
    _instance: _IOLoop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="capgate-io", daemon=True)
        self.thread.start()

    @classmethod
    def get(cls) -> _IOLoop:
        with cls._lock:
            if cls._instance is None or not cls._instance.thread.is_alive():
                cls._instance = _IOLoop()
            return cls._instance

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)


class CallCounter:
    """Verb calls that went over the wire, process-wide (the pytest plugin reports it)."""

    _lock = threading.Lock()
    total = 0

    @classmethod
    def bump(cls) -> None:
        with cls._lock:
            cls.total += 1


def make_ssl_context(*, cert: str, key: str, ca: str) -> ssl.SSLContext:
    """TLS 1.3, the sidecar verified against *ca*, our certificate presented.

    httpx ignores ``cert=`` when ``verify=`` is a path, so the client certificate must be in
    the context itself."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    return ctx


def _explain_transport_error(url: str, exc: BaseException, cert: str, ca: str) -> CapgateConnectionError:
    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:  # the ssl error is usually a few causes down
        if isinstance(cause, ssl.SSLError):
            text = str(cause)
            break
        cause = cause.__cause__ or cause.__context__
    low = text.lower()
    if "certificate_verify_failed" in low or "certificate verify failed" in low:
        return CapgateConnectionError(
            f"TLS handshake with {url} failed: the sidecar's certificate does not verify against "
            f"ca={ca!r} (wrong CA bundle, or the server certificate does not name this host): {text}",
            code="tls_failed",
        )
    if "alert" in low or "certificate required" in low:
        return CapgateConnectionError(
            f"the sidecar at {url} refused the client certificate cert={cert!r} (not signed by a CA "
            f"it trusts, revoked or expired): {text}",
            code="tls_failed",
        )
    return CapgateConnectionError(f"cannot reach the sidecar at {url}: {text}", code="connection_failed")


def _probe_tls(url: str, ctx: ssl.SSLContext, timeout: float = 3.0) -> str | None:
    """After a failure that says nothing specific (the sidecar closed the socket while we were
    writing), one bare TLS connection with the same context: TLS 1.3 delivers a refused client
    certificate as an alert *after* the handshake, so read once and report what arrives."""
    parsed = httpx.URL(url)
    try:
        with socket.create_connection((parsed.host, parsed.port or 443), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=parsed.host) as tls:
                tls.settimeout(timeout)
                tls.recv(1)
    except ssl.SSLError as exc:
        return str(exc)
    except OSError:
        return None
    return None


class Transport:
    """POST /v1/<verb> with JSON over one HTTP/2 connection; errors re-raised as the reference's."""

    def __init__(self, url: str, *, cert: str, key: str, ca: str, timeout: float = 30.0,
                 streams_per_connection: int = 500, max_connection_age: float = 1800.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        # The sidecar drains a connection after maxStreamsPerConnection streams (default 1000)
        # and at maxConnectionAge (3600 s) with GOAWAY. httpx's HTTP/2 stack cannot finish a
        # stream whose answer arrives after a GOAWAY, so an answer could be lost for a call the
        # sidecar ran. The client therefore moves to a fresh connection *before* either limit
        # (below the sidecar's settings) and retires the old one once its calls are answered.
        self.streams_per_connection = streams_per_connection
        self.max_connection_age = max_connection_age
        self._uses = 0
        self._born = 0.0
        self._inflight: dict[httpx.AsyncClient, int] = {}
        self.connections_opened = 0
        self._cert, self._ca = cert, ca
        self._ssl = make_ssl_context(cert=cert, key=key, ca=ca)
        self._io = _IOLoop.get()
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    def _get_client(self) -> httpx.AsyncClient:  # on the io loop only
        if self._closed:
            raise CapgateConnectionError("this capgate connection is closed", code="closed")
        now = time.monotonic()
        if self._client is not None and (self._uses >= self.streams_per_connection
                                         or now - self._born >= self.max_connection_age):
            old, self._client = self._client, None
            if self._inflight.get(old, 0) == 0:
                self._inflight.pop(old, None)
                asyncio.get_running_loop().create_task(old.aclose())
        if self._client is None:
            self._client = httpx.AsyncClient(
                http1=False, http2=True, verify=self._ssl, timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            )
            self._uses, self._born = 0, now
            self._inflight[self._client] = 0
            self.connections_opened += 1
        self._uses += 1
        return self._client

    def _begin(self) -> httpx.AsyncClient:
        client = self._get_client()
        self._inflight[client] = self._inflight.get(client, 0) + 1
        return client

    def _retire(self, client: httpx.AsyncClient) -> None:  # on the io loop only
        """New calls go to a fresh connection; *client* closes when its last call ends (_end)."""
        if self._client is client:
            self._client = None

    async def _end(self, client: httpx.AsyncClient) -> None:
        left = self._inflight.get(client, 1) - 1
        if left > 0 or client is self._client:
            self._inflight[client] = max(left, 0)
            return
        self._inflight.pop(client, None)  # a retired connection with no call left: close it
        await client.aclose()

    async def _explain(self, exc: BaseException) -> CapgateConnectionError:
        err = _explain_transport_error(self.url, exc, self._cert, self._ca)
        if err.code == "connection_failed" and not isinstance(exc, httpx.ConnectError):
            alert = await asyncio.to_thread(_probe_tls, self.url, self._ssl)
            if alert is not None:
                err = _explain_transport_error(self.url, ssl.SSLError(alert), self._cert, self._ca)
        return err

    async def _post(self, verb: str, body: Any) -> Any:
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        for attempt in range(4):
            client = self._begin()
            try:
                resp = await client.post(f"{self.url}/v1/{verb}", content=payload, headers=headers)
                break
            except httpx.TimeoutException as exc:
                raise CapgateConnectionError(
                    f"capgate {verb}: no answer from {self.url} within {self.timeout}s", code="timeout"
                ) from exc
            except httpx.TransportError as exc:
                retry = (attempt < 3 and _unprocessed(exc)) or (attempt == 0 and (
                    verb in _IDEMPOTENT or isinstance(exc, (httpx.ConnectError, httpx.WriteError))))
                if not retry:
                    raise await self._explain(exc) from exc
            except OSError as exc:  # an ssl.SSLError (a TLS alert) can escape httpcore's HTTP/2 read
                raise await self._explain(exc) from exc
            finally:
                await self._end(client)
        CallCounter.bump()
        try:
            data = json.loads(resp.content) if resp.content else None
        except ValueError:
            data = None
        if resp.status_code != 200:
            raise error_from_envelope(resp.status_code, data)
        return data

    # ---- entry points for any thread / any loop ------------------------------------------

    def call(self, verb: str, body: Any) -> Any:
        """Blocking call (from any thread, also from inside a running loop's thread pool)."""
        if threading.current_thread() is self._io.thread:
            raise RuntimeError("a blocking capgate call from the client's own IO loop would deadlock")
        fut = self._io.submit(self._post(verb, body))
        try:
            return fut.result(self.timeout * 2 + 5)
        except concurrent.futures.TimeoutError as exc:
            fut.cancel()
            raise CapgateConnectionError(f"capgate {verb}: no answer within {self.timeout}s",
                                         code="timeout") from exc

    async def acall(self, verb: str, body: Any) -> Any:
        """Awaitable call on the caller's loop (whatever loop that is)."""
        return await asyncio.wrap_future(self._io.submit(self._post(verb, body)))

    async def astream_lines(self, verb: str, body: Any) -> AsyncIterator[bytes]:
        """POST, then yield the answer's lines (ndjson) as they arrive. A non-200 answer raises
        its error. Leaving the iteration early (break, an exception, cancelling the caller)
        resets the HTTP/2 stream (RST_STREAM CANCEL), which is how the sidecar learns to stop
        the driver (docs/design.md section 5): merely closing the response would not tell it."""
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        # Set when the consumer is gone. Cancelling the producer is not enough on its own: the
        # cancellation can be absorbed inside httpcore's shielded sections, and the caller's
        # loop may be closed by then (a put must not fail into the void).
        left = threading.Event()

        def put(kind: str, value: Any) -> bool:
            try:
                caller.call_soon_threadsafe(queue.put_nowait, (kind, value))
                return True
            except RuntimeError:  # the caller's loop is closed: nobody reads any more
                left.set()
                return False

        async def produce() -> None:
            payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
            client = self._begin()
            answered = False
            try:
                async with client.stream(
                    "POST", f"{self.url}/v1/{verb}", content=payload,
                    headers={"content-type": "application/json"},
                ) as resp:
                    answered = True
                    CallCounter.bump()
                    if resp.status_code != 200:
                        raw = await resp.aread()
                        try:
                            data = json.loads(raw) if raw else None
                        except ValueError:
                            data = None
                        put("exc", error_from_envelope(resp.status_code, data))
                        return
                    finished = False
                    try:
                        async for line in resp.aiter_lines():
                            if left.is_set() or (line and not put("line", line)):
                                break
                        else:
                            finished = True
                    finally:
                        if not finished:  # the consumer left, or was cancelled: tell the sidecar
                            await asyncio.shield(_reset_stream(resp))
                put("end", None)
            except httpx.TimeoutException as exc:
                put("exc", CapgateConnectionError(f"capgate {verb}: stalled for {self.timeout}s", code="timeout"))
                del exc
            except (httpx.TransportError, OSError) as exc:
                put("exc", await self._explain(exc))
            except asyncio.CancelledError:
                if not answered:
                    # Cancelled before the answer's headers: httpcore gives no handle on the
                    # stream to reset, and the sidecar answers only with the first frame. Retire
                    # the connection instead: it closes once its other calls are answered, and
                    # the close cancels this stream's driver on the sidecar.
                    self._retire(client)
                raise
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's loop
                put("exc", exc)
            finally:
                await self._end(client)

        fut = self._io.submit(produce())
        try:
            while True:
                kind, value = await queue.get()
                if kind == "line":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            left.set()
            fut.cancel()

    def close(self) -> None:
        self._closed = True
        clients = set(self._inflight) | ({self._client} if self._client is not None else set())
        self._client = None
        self._inflight.clear()

        async def close_all() -> None:
            for c in clients:
                await c.aclose()

        if clients and self._io.thread.is_alive():
            try:
                self._io.submit(close_all()).result(5)
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


async def _reset_stream(resp: httpx.Response) -> None:
    """Sends RST_STREAM CANCEL for *resp*'s HTTP/2 stream and flushes it.

    httpcore (1.0) only forgets a stream whose response is closed early; the peer is never told,
    so a streaming sidecar would keep its driver running until flow control stalls it. httpcore
    has no public API for a reset, so this reaches its HTTP/2 connection through the response's
    byte-stream wrappers (httpx -> connection pool -> HTTP/2 stream) and fails quietly (the
    connection close then ends the stream) if that layout ever changes."""
    stream: Any = resp.stream
    for _ in range(8):
        if stream is None or (hasattr(stream, "_connection") and hasattr(stream, "_stream_id")):
            break
        stream = getattr(stream, "_stream", None) or getattr(stream, "_httpcore_stream", None)
    conn = getattr(stream, "_connection", None)
    state = getattr(conn, "_h2_state", None)
    if state is None:
        return
    try:
        state.reset_stream(stream._stream_id, error_code=h2.errors.ErrorCodes.CANCEL)
        await conn._write_outgoing_data(stream._request)
    except Exception:  # noqa: BLE001 - the stream already ended, or the connection is gone
        pass
