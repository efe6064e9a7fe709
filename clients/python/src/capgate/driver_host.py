"""``DriverHost``: serves weaver_kernel drivers to a capgate sidecar (driver-host protocol v1).

The sidecar is the client, this is the server: HTTP/2 over TLS 1.3 (ALPN ``h2``), with a
mandatory client certificate that chains to ``ca``. Any object with the reference's ``Driver``
shape works (InMemoryDriver with its Python handlers, HTTPDriver, MCPDriver, custom ones);
``StreamingDriver``s also stream.

    POST /v1/execute         {"driver_id", "operation", "context": {...}}
        -> 200 {"data", "metadata"}  |  200 {"error": {"type", "message"}}
    POST /v1/execute_stream  same body
        -> 501 {} (not a StreamingDriver: the sidecar falls back to /v1/execute)
        |  200 application/x-ndjson: {"chunk": {...}}* then {"end": true} | {"error": {...}}
    GET  /v1/health          -> 200 {"status": "ok", "drivers": [...]}

The error ``message`` is ``str(exc)`` unchanged, so the sidecar's fallback, traces and redaction
see what an in-process driver failure would give them. Run it in a thread from code
(``DriverHost(...).start()``) or as ``python -m capgate.driver_host --config FILE``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import json
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config, Sockets
from weaver_kernel.drivers.base import ExecutionContext, StreamingDriver

_CONTEXT_KEYS = frozenset({"capability_id", "principal_id", "args", "constraints", "action_id"})
_BODY_KEYS = frozenset({"driver_id", "operation", "context"})
_MAX_REQUEST_BYTES = 4 << 20


def _json_default(value: Any) -> Any:
    """Driver output that is not JSON: what the in-process firewall would render it as."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, separators=(",", ":")).encode()


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": {"type": type(exc).__name__, "message": str(exc)}}


class _BadRequest(Exception):
    pass


def _parse(body: bytes) -> tuple[str, ExecutionContext]:
    """The strict request reader: exactly the protocol's keys and types."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise _BadRequest(f"body is not JSON: {exc}") from None
    if not isinstance(doc, dict) or set(doc) != _BODY_KEYS:
        raise _BadRequest(f"body keys must be exactly {sorted(_BODY_KEYS)}")
    ctx = doc["context"]
    if not isinstance(doc["driver_id"], str) or not isinstance(doc["operation"], str):
        raise _BadRequest("driver_id and operation must be strings")
    if not isinstance(ctx, dict) or set(ctx) != _CONTEXT_KEYS:
        raise _BadRequest(f"context keys must be exactly {sorted(_CONTEXT_KEYS)}")
    if not all(isinstance(ctx[k], str) for k in ("capability_id", "principal_id", "action_id")):
        raise _BadRequest("context ids must be strings")
    if not isinstance(ctx["args"], dict) or not isinstance(ctx["constraints"], dict):
        raise _BadRequest("context args and constraints must be objects")
    return doc["driver_id"], ExecutionContext(
        capability_id=ctx["capability_id"], principal_id=ctx["principal_id"], args=ctx["args"],
        constraints=ctx["constraints"], action_id=ctx["action_id"],
    )


class _HostConfig(Config):
    """Hypercorn's configuration with TLS 1.3 + h2 only and our pre-bound socket."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def create_ssl_context(self) -> ssl.SSLContext | None:
        ctx = super().create_ssl_context()
        assert ctx is not None
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.set_alpn_protocols(["h2"])
        ctx.verify_mode = ssl.CERT_REQUIRED  # the sidecar must present a certificate of our CA
        return ctx

    def create_sockets(self) -> Sockets:
        self._sock.setblocking(False)
        return Sockets([self._sock], [], [])


class DriverHost:
    """Serves *drivers* over the driver-host protocol with its own certificate.

    *cert*/*key*: this host's certificate (``capgate pki host``: its SPIFFE ID is what the
    sidecar's ``identity`` pins); *ca*: the bundle the sidecar's client certificate must chain to.
    """

    def __init__(self, drivers: Iterable[Any] = (), *, cert: str, key: str, ca: str,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self._drivers: dict[str, Any] = {}
        for d in drivers:
            self.register_driver(d)
        self._cert, self._key, self._ca = cert, key, ca
        self._host, self._port = host, port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self.calls = 0  # requests served (for tests and the pytest plugin)

    # ---- drivers ---------------------------------------------------------------------------

    def register_driver(self, driver: Any) -> None:
        """Serve *driver* under its ``driver_id`` (replacing one of the same id)."""
        self._drivers[str(driver.driver_id)] = driver

    @property
    def driver_ids(self) -> list[str]:
        return sorted(self._drivers)

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"https://{host}:{self._port}"

    def start(self, timeout: float = 10.0) -> DriverHost:
        """Binds (port 0 picks a free one), serves from a daemon thread, returns when listening."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        self._port = sock.getsockname()[1]
        sock.listen(128)  # connections queue from now on: ready before hypercorn's first accept
        config = _HostConfig(sock)
        config.certfile, config.keyfile, config.ca_certs = self._cert, self._key, self._ca
        config.verify_mode = ssl.CERT_REQUIRED
        config.alpn_protocols = ["h2"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 1.0
        config.keep_alive_timeout = 3600.0
        config.h2_max_concurrent_streams = 256
        config.create_ssl_context()  # fail here (bad files) rather than in the thread

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()

            loop.call_soon(self._ready.set)
            try:
                loop.run_until_complete(serve(self._app, config, shutdown_trigger=self._stop.wait))
            except BaseException as exc:  # noqa: BLE001 - reported to start()/stop()
                self._failure = exc
                self._ready.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name=f"capgate-driver-host-{self._port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"driver host did not start within {timeout}s")
        if self._failure is not None:
            raise RuntimeError(f"driver host failed to start: {self._failure}") from self._failure
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._stop.set)
        except RuntimeError:  # loop already closed
            pass
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> DriverHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the ASGI application ----------------------------------------------------------------

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.calls += 1
        # Read the whole request body before any answer, on every path: hypercorn drops the
        # connection when DATA arrives for a stream it has already answered.
        body = await self._read_body(receive)
        path, method = scope["path"], scope["method"]
        if path == "/v1/health":
            if method != "GET":
                return await self._respond(send, 405, {})
            return await self._respond(send, 200, {"status": "ok", "drivers": self.driver_ids})
        if path not in ("/v1/execute", "/v1/execute_stream"):
            return await self._respond(send, 404, {})
        if method != "POST":
            return await self._respond(send, 405, {})
        if body is None:
            return await self._respond(send, 413, {})
        try:
            driver_id, ctx = _parse(body)
        except _BadRequest as exc:
            return await self._respond(send, 400, {"error": {"type": "ValueError", "message": str(exc)}})
        driver = self._drivers.get(driver_id)
        if path == "/v1/execute":
            return await self._respond(send, 200, await self._execute(driver_id, driver, ctx))
        if driver is None or not isinstance(driver, StreamingDriver):
            return await self._respond(send, 501, {})  # the sidecar falls back to /v1/execute
        await self._stream(driver, ctx, receive, send)

    @staticmethod
    async def _read_body(receive: Any) -> bytes | None:
        """The body, or None when it exceeds the cap (read to its end all the same)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return b""
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size <= _MAX_REQUEST_BYTES:
                chunks.append(chunk)
            if not msg.get("more_body", False):
                return b"".join(chunks) if size <= _MAX_REQUEST_BYTES else None

    @staticmethod
    async def _respond(send: Any, status: int, doc: Any) -> None:
        body = _dumps(doc)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _execute(driver_id: str, driver: Any, ctx: ExecutionContext) -> dict[str, Any]:
        if driver is None:
            return {"error": {"type": "DriverError", "message": f"Driver host has no driver '{driver_id}'."}}
        try:
            raw = await driver.execute(ctx)
            doc = {"data": raw.data, "metadata": dict(raw.metadata or {})}
            _dumps(doc)  # an unserializable result is the driver's failure, not a 500
            return doc
        except Exception as exc:  # noqa: BLE001 - the driver's failure is the answer
            return _error(exc)

    @staticmethod
    async def _stream(driver: Any, ctx: ExecutionContext, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/x-ndjson")]})

        async def pump() -> None:
            agen = driver.execute_stream(ctx)
            try:
                try:
                    async for chunk in agen:
                        await send({"type": "http.response.body", "body": _dumps({"chunk": chunk}) + b"\n",
                                    "more_body": True})
                    last: dict[str, Any] = {"end": True}
                except Exception as exc:  # noqa: BLE001 - reported in-band, as the protocol says
                    last = _error(exc)
                await send({"type": "http.response.body", "body": _dumps(last) + b"\n", "more_body": False})
            finally:
                aclose = getattr(agen, "aclose", None)
                if aclose is not None:
                    await aclose()  # stop the driver's generator, also when cancelled

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        pumping = asyncio.ensure_future(pump())
        watching = asyncio.ensure_future(watch_disconnect())
        try:
            await asyncio.wait({pumping, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (pumping, watching):
                if not t.done():
                    t.cancel()
            await asyncio.gather(pumping, watching, return_exceptions=True)


if __name__ == "__main__":
    from ._driver_host_cli import main

    raise SystemExit(main())
