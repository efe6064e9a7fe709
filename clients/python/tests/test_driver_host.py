"""DriverHost against the driver-host protocol, with httpx playing the sidecar."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from weaver_kernel import InMemoryDriver
from weaver_kernel.errors import DriverError
from weaver_kernel.models import RawResult

from capgate import DriverHost
from capgate._sidecar import PKI, capgate_binary
from capgate._transport import make_ssl_context

CANARY = "Bearer canary-zzz-9999-do-not-leak-token"


class Streamer:
    """A StreamingDriver: chunks from ctx.args; `fail_after` raises mid-stream; `forever` never ends."""

    def __init__(self, driver_id: str = "streamer") -> None:
        self._id = driver_id
        self.stopped = threading.Event()

    @property
    def driver_id(self) -> str:
        return self._id

    async def execute(self, ctx) -> RawResult:
        return RawResult(capability_id=ctx.capability_id, data={"whole": True})

    async def execute_stream(self, ctx):
        try:
            i = 0
            while True:
                if ctx.args.get("fail_after") == i:
                    raise DriverError(f"stream broke after {i}")
                if not ctx.args.get("forever") and i >= ctx.args.get("n", 3):
                    return
                yield {"i": i, "text": f"part {i}"}
                i += 1
                if ctx.args.get("forever"):
                    await asyncio.sleep(0.01)
        finally:
            self.stopped.set()


class Slow:
    driver_id = "slow"

    async def execute(self, ctx) -> RawResult:
        await asyncio.sleep(ctx.args.get("seconds", 5))
        return RawResult(capability_id=ctx.capability_id, data="late")


class Raiser:
    driver_id = "raiser"

    async def execute(self, ctx) -> RawResult:
        raise ValueError("bad value from a custom driver")


def _body(driver_id: str, args: dict[str, Any] | None = None, capability_id: str = "records.read") -> dict[str, Any]:
    args = args or {}
    return {"driver_id": driver_id, "operation": str(args.get("operation", capability_id)),
            "context": {"capability_id": capability_id, "principal_id": "alice", "args": args,
                        "constraints": {"max_rows": 5}, "action_id": "a-1"}}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PKI(capgate_binary(), str(tmp_path_factory.mktemp("hostpki")))


@pytest.fixture(scope="module")
def host(pki):
    memory = InMemoryDriver(driver_id="fixture")
    memory.register_handler("records.read", lambda ctx: [{"id": 1, "principal": ctx.principal_id,
                                                          "max_rows": ctx.constraints["max_rows"]}])
    memory.register_handler("boom", lambda ctx: (_ for _ in ()).throw(RuntimeError("synthetic failure")))
    memory.register_handler("canary", lambda ctx: [{"note": CANARY}])
    streamer = Streamer()
    # The host presents the PKI's server certificate (serverAuth, SAN 127.0.0.1) here; a real
    # deployment uses `capgate pki host`.
    h = DriverHost([memory, streamer, Slow(), Raiser()], cert=pki.server_cert, key=pki.server_key, ca=pki.ca)
    h.streamer = streamer
    with h:
        yield h


@pytest.fixture(scope="module")
def sidecar_client(pki):
    cert, key = pki.agent("sidecar")
    with httpx.Client(http1=False, http2=True, verify=make_ssl_context(cert=cert, key=key, ca=pki.ca),
                      timeout=10) as c:
        yield c


def test_health(host, sidecar_client):
    r = sidecar_client.get(f"{host.url}/v1/health")
    assert r.status_code == 200 and r.http_version == "HTTP/2"
    assert r.json() == {"status": "ok", "drivers": ["fixture", "raiser", "slow", "streamer"]}


def test_execute_success(host, sidecar_client):
    r = sidecar_client.post(f"{host.url}/v1/execute", json=_body("fixture"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"data": [{"id": 1, "principal": "alice", "max_rows": 5}], "metadata": {}}


def test_handler_raises_is_an_error_answer_with_the_message_unchanged(host, sidecar_client):
    r = sidecar_client.post(f"{host.url}/v1/execute", json=_body("fixture", {"operation": "boom"}))
    assert r.status_code == 200
    assert r.json() == {"error": {"type": "DriverError",
                                  "message": "Handler for operation='boom' raised: synthetic failure"}}
    r = sidecar_client.post(f"{host.url}/v1/execute", json=_body("raiser"))
    assert r.json() == {"error": {"type": "ValueError", "message": "bad value from a custom driver"}}


def test_canary_passes_unchanged(host, sidecar_client):
    """Redaction is the sidecar's firewall's job: the host returns what the driver returned."""
    r = sidecar_client.post(f"{host.url}/v1/execute", json=_body("fixture", {"operation": "canary"}))
    assert r.json()["data"] == [{"note": CANARY}]


def test_unknown_driver(host, sidecar_client):
    r = sidecar_client.post(f"{host.url}/v1/execute", json=_body("nope"))
    assert r.status_code == 200
    assert r.json() == {"error": {"type": "DriverError", "message": "Driver host has no driver 'nope'."}}


def test_strict_request_reader(host, sidecar_client):
    body = _body("fixture")
    body["extra"] = 1
    assert sidecar_client.post(f"{host.url}/v1/execute", json=body).status_code == 400
    body = _body("fixture")
    del body["context"]["action_id"]
    assert sidecar_client.post(f"{host.url}/v1/execute", json=body).status_code == 400
    assert sidecar_client.post(f"{host.url}/v1/execute", content=b"{nope").status_code == 400
    assert sidecar_client.get(f"{host.url}/v1/execute").status_code == 405
    assert sidecar_client.post(f"{host.url}/v1/other", json={}).status_code == 404


def test_streaming_driver(host, sidecar_client):
    r = sidecar_client.post(f"{host.url}/v1/execute_stream", json=_body("streamer", {"n": 3}))
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines == [{"chunk": {"i": i, "text": f"part {i}"}} for i in range(3)] + [{"end": True}]


def test_streaming_driver_raising_mid_stream(host, sidecar_client):
    r = sidecar_client.post(f"{host.url}/v1/execute_stream", json=_body("streamer", {"n": 5, "fail_after": 2}))
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines[:2] == [{"chunk": {"i": 0, "text": "part 0"}}, {"chunk": {"i": 1, "text": "part 1"}}]
    assert lines[2:] == [{"error": {"type": "DriverError", "message": "stream broke after 2"}}]


def test_non_streaming_driver_is_501(host, sidecar_client):
    for driver in ("fixture", "nope"):
        r = sidecar_client.post(f"{host.url}/v1/execute_stream", json=_body(driver))
        assert r.status_code == 501 and r.json() == {}


def test_rst_stream_cancel_stops_the_driver(host, pki):
    """What the sidecar does when its client cancels: RST_STREAM CANCEL on the stream (a raw h2
    client, since httpx just forgets a response closed early)."""
    import socket

    import h2.config
    import h2.connection
    import h2.errors
    import h2.events

    host.streamer.stopped.clear()
    cert, key = pki.agent("sidecar")
    ctx = make_ssl_context(cert=cert, key=key, ca=pki.ca)
    with socket.create_connection(("127.0.0.1", host.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            conn.initiate_connection()
            body = json.dumps(_body("streamer", {"forever": True})).encode()
            conn.send_headers(1, [(":method", "POST"), (":path", "/v1/execute_stream"), (":scheme", "https"),
                                  (":authority", "127.0.0.1"), ("content-type", "application/json")])
            conn.send_data(1, body, end_stream=True)
            tls.sendall(conn.data_to_send())
            received = b""
            while received.count(b"\n") < 2:
                data = tls.recv(65536)
                assert data, "host closed the connection"
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.DataReceived):
                        received += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, 1)
                tls.sendall(conn.data_to_send())
            assert json.loads(received.split(b"\n")[0]) == {"chunk": {"i": 0, "text": "part 0"}}
            conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
            tls.sendall(conn.data_to_send())
            assert host.streamer.stopped.wait(10), "the driver kept iterating after RST_STREAM"


def test_slow_driver_does_not_block_other_calls(host, pki):
    cert, key = pki.agent("sidecar")
    ctx = make_ssl_context(cert=cert, key=key, ca=pki.ca)

    async def run():
        async with httpx.AsyncClient(http1=False, http2=True, verify=ctx, timeout=10) as c:
            slow = asyncio.ensure_future(c.post(f"{host.url}/v1/execute", json=_body("slow", {"seconds": 3}),
                                                timeout=0.5))
            t0 = time.monotonic()
            fast = await c.post(f"{host.url}/v1/execute", json=_body("fixture"))
            elapsed = time.monotonic() - t0
            with pytest.raises(httpx.TimeoutException):
                await slow
            return fast, elapsed

    fast, elapsed = asyncio.run(run())
    assert fast.json()["data"][0]["id"] == 1 and elapsed < 2


def test_client_certificate_is_required(host, pki, tmp_path):
    other = PKI(capgate_binary(), str(tmp_path / "other"))
    cert, key = other.agent("sidecar")
    foreign = make_ssl_context(cert=cert, key=key, ca=pki.ca)
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        with httpx.Client(http1=False, http2=True, verify=foreign, timeout=5) as c:
            c.get(f"{host.url}/v1/health")
    anonymous = ssl.create_default_context(cafile=pki.ca)
    anonymous.set_alpn_protocols(["h2"])
    with pytest.raises((httpx.TransportError, ssl.SSLError)):
        with httpx.Client(http1=False, http2=True, verify=anonymous, timeout=5) as c:
            c.get(f"{host.url}/v1/health")


def test_register_driver_after_start(host, sidecar_client):
    late = InMemoryDriver(driver_id="late")
    late.register_handler("records.read", lambda ctx: {"late": True})
    host.register_driver(late)
    assert sidecar_client.post(f"{host.url}/v1/execute", json=_body("late")).json()["data"] == {"late": True}


def _billing_host_config(pki, tmp_path):
    """A host configuration file serving the reference's billing driver on a free port."""
    cfg = tmp_path / "host.toml"
    cfg.write_text(
        "[host]\n"
        'listen = "127.0.0.1:0"\n'
        f"certificate = {json.dumps(pki.server_cert)}\nprivate_key = {json.dumps(pki.server_key)}\n"
        f"ca_file = {json.dumps(pki.ca)}\n\n"
        "[[driver]]\nfactory = \"weaver_kernel:make_billing_driver\"\n")
    return cfg


def test_module_entry_point_stops_cleanly_on_sigterm_right_after_ready(pki, tmp_path):
    """A supervisor may send SIGTERM the moment it reads the ready line: the host must
    already handle it (clean stop, exit 0), not die of the default action (-15)."""
    cfg = _billing_host_config(pki, tmp_path)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-m", "capgate.driver_host", "--config", str(cfg)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            assert "capgate driver host listening on" in line, proc.stderr.read()
            proc.terminate()
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_module_entry_point(pki, tmp_path):
    cfg = _billing_host_config(pki, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "capgate.driver_host", "--config", str(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # bounded: the process prints it or exits
        assert "capgate driver host listening on https://127.0.0.1:" in line, proc.stderr.read()
        url = line.split(" on ")[1].split(" with ")[0]
        cert, key = pki.agent("sidecar")
        with httpx.Client(http1=False, http2=True, verify=make_ssl_context(cert=cert, key=key, ca=pki.ca),
                          timeout=10) as c:
            assert c.get(f"{url}/v1/health").json() == {"status": "ok", "drivers": ["billing"]}
            r = c.post(f"{url}/v1/execute", json=_body("billing", {"operation": "summarize_spend"}))
            assert r.json()["data"]["invoice_count"] == 200
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[host]\nlisten = \"127.0.0.1:0\"\ntypo = 1\n")
    done = subprocess.run([sys.executable, "-m", "capgate.driver_host", "--config", str(bad)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "host.typo" in done.stderr
