"""Operations (docs/operations.md): the Prometheus endpoint, parsed by prometheus_client's own
text parser, moves with traffic and with a tripped limit; the JSON access log has one line per
request with the documented fields and never a body, a token signature or the kernel secret."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.request

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from weaver_kernel import CapabilityRequest, Principal

from capgate._transport import make_ssl_context

from .conftest import SECRET, deploy

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})
CANARY = "canary-ops-7f3a-never-in-a-log"


@pytest.fixture(scope="module")
def ops_deployment(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ops"))
    log = os.path.join(root, "access.log")
    extra = f'[metrics]\nlisten = "127.0.0.1:0"\n\n[access_log]\npath = "{log}"\n'
    dep = deploy(root, rate_limits={"READ": (1000, 60.0)}, extra_toml=extra)
    m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", dep.sidecar.log_text())
    assert m, dep.sidecar.log_text()[-2000:]
    try:
        yield dep, int(m.group(1)), log
    finally:
        dep.sidecar.stop()


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """Every sample of the exposition, keyed by (sample name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def scrape_until(port: int, ready, timeout: float = 10.0) -> dict[tuple[str, tuple], float]:
    """Scrapes until ready(samples) or the timeout, and returns the last scrape: a request is
    counted once its answer went to the transport, which can be just after the client read it."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(port)
        if ready(samples) or time.monotonic() >= deadline:
            return samples
        time.sleep(0.02)


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_with_traffic_and_a_tripped_limit(ops_deployment):
    dep, port, _ = ops_deployment
    before = scrape(port)
    # Families are declared (with HELP/TYPE) and typed as documented.
    assert value(before, "capgate_server_certificate_expiry_timestamp_seconds") > 1.7e9
    assert value(before, "capgate_limit_trips_total", limit="maxBodyBytesPerVerb", code="body_too_large") == 0

    with dep.kernel("alice") as k:
        for _ in range(3):
            k.list_capabilities()
    a = dep.agent("alice")
    ctx = make_ssl_context(cert=a.cert, key=a.key, ca=dep.pki.ca)
    with httpx.Client(http1=False, http2=True, verify=ctx, timeout=10) as c:
        big = b"{" + b" " * (70 * 1024) + b"}"  # over list_capabilities' 64 KiB cap
        r = c.post(f"{dep.url}/v1/list_capabilities", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = c.post(f"{dep.url}/v1/no_such_verb", content=b"{}", headers={"content-type": "application/json"})
        assert r.status_code == 404

    unknown = dict(verb="unknown", status="404", code="unknown_verb")
    after = scrape_until(port, lambda s: value(s, "capgate_requests_total", **unknown)
                         > value(before, "capgate_requests_total", **unknown))
    ok = ("capgate_requests_total", dict(verb="list_capabilities", status="200", code="ok"))
    assert value(after, ok[0], **ok[1]) - value(before, ok[0], **ok[1]) == 3
    assert value(after, "capgate_requests_total", verb="unknown", status="404", code="unknown_verb") \
        - value(before, "capgate_requests_total", verb="unknown", status="404", code="unknown_verb") == 1
    assert value(after, "capgate_request_duration_seconds_count", verb="list_capabilities") \
        - value(before, "capgate_request_duration_seconds_count", verb="list_capabilities") == 3
    assert value(after, "capgate_limit_trips_total", limit="maxBodyBytesPerVerb", code="body_too_large") \
        - value(before, "capgate_limit_trips_total", limit="maxBodyBytesPerVerb", code="body_too_large") == 1
    assert value(after, "capgate_handshakes_total", outcome="success", reason="none") \
        >= value(before, "capgate_handshakes_total", outcome="success", reason="none") + 2
    assert ("capgate_connections_open", (("phase", "authenticated"),)) in after


def test_access_log_has_the_fields_and_no_secret(ops_deployment):
    dep, _, log = ops_deployment
    with dep.kernel("alice") as k:
        grant = k.grant_capability(CapabilityRequest(capability_id="billing.list_invoices", goal=CANARY), ALICE,
                                   justification=f"reading invoices {CANARY}")
        token = grant.token
        assert token is not None and token.signature
        asyncio.run(k.invoke(token, principal=ALICE, args={"operation": "list_invoices", "customer_id": CANARY}))
        k.request_capabilities(CANARY)
    with open(dep.config.secret_file, encoding="utf-8") as f:
        secret = f.read().strip()
    assert secret == SECRET

    dep.sidecar.stop()  # every line flushed: the sidecar wrote them before answering
    text = open(log, encoding="utf-8").read()
    assert CANARY not in text
    assert token.signature not in text
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    invokes = [x for x in lines if x["verb"] == "invoke"]
    assert invokes, text
    line = invokes[-1]
    assert list(line) == ["time", "connection", "stream", "peer", "remote", "principal", "verb", "status", "code",
                          "reason_code", "latency_seconds", "bytes_in", "bytes_out", "tls_version", "tls_cipher"]
    assert line["peer"] == dep.pki.spiffe_id("alice")
    assert line["principal"] == "alice"
    assert line["status"] == 200 and line["code"] == "ok" and line["reason_code"] is None
    assert line["stream"] > 0 and line["connection"] >= 1
    assert line["bytes_in"] > len(CANARY) and line["bytes_out"] > 0
    assert line["tls_version"] == "TLSv1.3" and line["tls_cipher"].startswith("TLS_")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert 0 <= line["latency_seconds"] < 60
    assert any(x["verb"] == "grant_capability" for x in lines)
    assert any(x["verb"] == "request_capabilities" for x in lines)
