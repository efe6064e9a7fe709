"""One pooled connection from many threads and loops, reconnection, refused TLS peers."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from weaver_kernel import CapabilityRequest, Principal

from capgate import CapgateConnectionError, RemoteKernel
from capgate._sidecar import PKI, capgate_binary

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})


def _token(k):
    req = CapabilityRequest(capability_id="billing.summarize_spend", goal="g")
    return k.grant_capability(req, ALICE, justification="threads").token


def _connections(k) -> int:
    client = k._t()._client
    return len(client._transport._pool.connections)


def test_many_threads_each_with_fresh_loops_share_one_connection(deployment):
    with deployment.kernel("alice") as k:
        token = _token(k)
        errors: list[BaseException] = []
        frames: list[str] = []
        lock = threading.Lock()

        def worker() -> None:
            try:
                for _ in range(10):
                    f = asyncio.run(k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}))
                    assert k.explain(f.action_id).action_id == f.action_id
                    with lock:
                        frames.append(f.action_id)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert len(set(frames)) == 120
        assert _connections(k) == 1


def test_concurrent_calls_on_one_loop(deployment):
    with deployment.kernel("alice") as k:
        token = _token(k)

        async def many():
            return await asyncio.gather(*[
                k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}) for _ in range(50)])

        frames = asyncio.run(many())
        assert len({f.action_id for f in frames}) == 50
        assert _connections(k) == 1


def test_cancelling_a_call_leaves_the_connection_usable(deployment):
    with deployment.kernel("alice") as k:
        token = _token(k)

        async def cancel_one():
            task = asyncio.ensure_future(k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancel_one())
        assert asyncio.run(k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"})).is_final


def test_reconnects_after_a_sidecar_restart(fresh_deployment):
    dep = fresh_deployment
    dep.config.listen = f"127.0.0.1:{dep.sidecar.port}"  # same address after the restart
    dep.write_config()
    with dep.kernel("alice") as k:
        token = _token(k)
        assert k.list_capabilities()
        dep.sidecar.stop()
        with pytest.raises(CapgateConnectionError) as ei:
            k.list_capabilities()
        assert ei.value.code == "connection_failed" and dep.url in str(ei.value)
        dep.sidecar.start()
        assert len(k.list_capabilities()) == 4
        # tokens survive the restart (same secret); the grant's invoke works on the new connection
        frame = asyncio.run(k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}))
        assert frame.is_final


def test_wrong_ca_is_refused_clearly(deployment, tmp_path):
    other = PKI(capgate_binary(), str(tmp_path / "other"))
    a = deployment.agent("alice")
    with RemoteKernel.connect(deployment.url, cert=a.cert, key=a.key, ca=other.ca, timeout=10) as k:
        with pytest.raises(CapgateConnectionError) as ei:
            k.list_capabilities()
    assert ei.value.code == "tls_failed", (str(ei.value), repr(ei.value.__cause__))
    assert "does not verify against ca=" in str(ei.value) and other.ca in str(ei.value)


def test_foreign_client_certificate_is_refused_clearly(deployment, tmp_path):
    other = PKI(capgate_binary(), str(tmp_path / "other"))
    cert, key = other.agent("alice")  # same name, another CA
    with RemoteKernel.connect(deployment.url, cert=cert, key=key, ca=deployment.pki.ca, timeout=10) as k:
        with pytest.raises(CapgateConnectionError) as ei:
            k.list_capabilities()
    assert ei.value.code == "tls_failed", (str(ei.value), repr(ei.value.__cause__))
    assert "refused the client certificate" in str(ei.value) and cert in str(ei.value)


def test_missing_files_fail_at_connect(deployment, tmp_path):
    with pytest.raises(FileNotFoundError):
        RemoteKernel.connect(deployment.url, cert=str(tmp_path / "nope.pem"), key=str(tmp_path / "nope.key"),
                             ca=deployment.pki.ca)
    assert os.path.exists(deployment.pki.ca)


def test_identity_reload_admits_a_new_agent(deployment):
    """A certificate issued while the sidecar runs works after SIGHUP (what the drop-in kernel
    does when a new Principal shows up)."""
    from capgate._sidecar import Identity

    dep = deployment
    with dep.kernel("carol") as carol:
        with pytest.raises(Exception) as ei:
            carol.list_capabilities()
        assert getattr(ei.value, "code", None) == "unknown_identity"
        dep.config.identities.append(Identity(dep.pki.spiffe_id("carol"), "carol", ["reader"], {}))
        dep.write_config()
        dep.sidecar.reload(expected_rules=len(dep.config.identities))
        assert carol.list_capabilities()


def test_drained_connections_are_replaced_without_losing_or_repeating_calls(fresh_deployment):
    """The sidecar drains a connection after maxStreamsPerConnection streams (40 here); a client
    told to use at most 30 per connection moves on before that, without losing or repeating a call."""
    with fresh_deployment.kernel("alice", streams_per_connection=30) as k:
        token = _token(k)
        before = k.stats.invocations

        async def burst():
            return await asyncio.gather(*[
                k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}) for _ in range(100)])

        sequential = [asyncio.run(k.invoke(token, principal=ALICE, args={"operation": "summarize_spend"}))
                      for _ in range(90)]
        concurrent = asyncio.run(burst())
        ids = {f.action_id for f in sequential + list(concurrent)}
        assert len(ids) == 190
        assert k.stats.invocations - before == 190  # each call ran exactly once
        assert k._t().connections_opened >= 7
