"""The drop-in RemoteKernel end to end: a private sidecar whose drivers run in this process's
DriverHost, called with per-principal certificates issued on first use."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest
from weaver_kernel import (
    Capability,
    CapabilityRegistry,
    CapabilityRequest,
    DriverError,
    HMACTokenProvider,
    InMemoryDriver,
    Kernel,
    Principal,
    SafetyClass,
    StaticRouter,
    TokenScopeError,
    TraceStore,
)
from weaver_kernel.models import ImplementationRef, RawResult

from capgate import RemoteKernel, RemoteTraceStore
from capgate._dropin import STARTED

SECRET = "drop-in-test-secret"
CANARY = "Bearer canary-zzz-9999-do-not-leak-token"
ALICE = Principal("alice", ["reader"])


class SlowDriver:
    driver_id = "slow"

    async def execute(self, ctx) -> RawResult:
        await asyncio.sleep(ctx.args.get("seconds", 5))
        return RawResult(capability_id=ctx.capability_id, data=[{"late": True}])


class Streamer:
    driver_id = "streamer"

    async def execute(self, ctx) -> RawResult:
        return RawResult(capability_id=ctx.capability_id, data=[{"whole": True}])

    async def execute_stream(self, ctx):
        for i in range(3):
            yield {"i": i}


def _setup(**kernel_kwargs: Any) -> tuple[RemoteKernel, HMACTokenProvider, InMemoryDriver]:
    reg = CapabilityRegistry()
    reg.register(Capability(capability_id="records.read", name="Read", description="Read records",
                            safety_class=SafetyClass.READ,
                            impl=ImplementationRef(driver_id="primary", operation="records.read")))
    reg.register(Capability(capability_id="records.slow", name="Slow", description="Slow records",
                            safety_class=SafetyClass.READ))
    reg.register(Capability(capability_id="records.stream", name="Stream", description="Stream records",
                            safety_class=SafetyClass.READ))
    reg.register(Capability(capability_id="records.orphan", name="Orphan", description="No driver",
                            safety_class=SafetyClass.READ))
    provider = HMACTokenProvider(secret=SECRET)
    router = StaticRouter(routes={"records.read": ["primary", "backup"], "records.slow": ["slow"],
                                  "records.stream": ["streamer"], "records.orphan": ["missing"]})
    kernel = RemoteKernel(registry=reg, token_provider=provider, router=router, **kernel_kwargs)
    driver = InMemoryDriver(driver_id="primary")
    return kernel, provider, driver


@pytest.fixture()
def setup():
    kernel, provider, driver = _setup(trace_store=TraceStore())
    try:
        yield kernel, provider, driver
    finally:
        kernel.close()


def _invoke(kernel, token, principal=ALICE, **kw):
    return asyncio.run(kernel.invoke(token, principal=principal, args=kw.pop("args", {}), **kw))


def test_drivers_registered_after_start_serve_the_sidecar(setup):
    kernel, provider, driver = setup
    seen: list[str] = []
    driver.register_handler("records.read", lambda ctx: seen.append(ctx.principal_id) or [{"id": 1, "note": CANARY}])
    kernel.register_driver(driver)
    frame = _invoke(kernel, provider.issue("records.read", "alice"), response_mode="table")
    assert seen == ["alice"]  # the handler ran here, called by the sidecar through the DriverHost
    assert frame.table_preview == [{"id": 1, "note": "[REDACTED]"}]  # the sidecar's firewall
    trace = kernel.explain(frame.action_id)
    assert trace.driver_id == "primary" and trace.principal_id == "alice"
    assert [t.action_id for t in kernel._trace_store.list_all()] == [frame.action_id]
    caps = {c.capability_id: c for c in kernel.list_capabilities()}
    assert caps["records.read"].impl == ImplementationRef(driver_id="primary", operation="records.read")


def test_a_raising_handler_falls_back_and_is_audited(setup):
    kernel, provider, driver = setup
    driver.register_handler("records.read", lambda ctx: (_ for _ in ()).throw(RuntimeError("boom")))
    kernel.register_driver(driver)
    with pytest.raises(DriverError) as ei:
        _invoke(kernel, provider.issue("records.read", "alice"))
    # both routed drivers failed: "backup" is routed but not registered yet
    assert str(ei.value) == ("All drivers failed for capability 'records.read'. "
                             "Last error: Driver host has no driver 'backup'.")
    backup = InMemoryDriver(driver_id="backup")
    backup.register_handler("records.read", lambda ctx: [{"from": "backup"}])
    kernel.register_driver(backup)
    frame = _invoke(kernel, provider.issue("records.read", "alice"), response_mode="table")
    assert frame.table_preview == [{"from": "backup"}]
    assert kernel.stats.fallback_activations == 2  # the failed call fell back too
    # a secret in the last driver's error text is redacted in the answer and in the trace
    backup.register_handler("records.read", lambda ctx: (_ for _ in ()).throw(DriverError(f"upstream said {CANARY}")))
    with pytest.raises(DriverError) as ei:
        _invoke(kernel, provider.issue("records.read", "alice"))
    assert CANARY not in str(ei.value) and "upstream said" in str(ei.value)
    failed = [t for t in kernel._trace_store.list_all() if t.error]
    assert len(failed) == 2 and "upstream said" in failed[-1].error and CANARY not in failed[-1].error


def test_a_driver_that_times_out(setup):
    kernel, provider, _ = setup
    kernel.register_driver(SlowDriver())
    token = provider.issue("records.slow", "alice", constraints={"invoke_timeout_s": 0.3})
    t0 = time.monotonic()
    with pytest.raises(DriverError) as ei:
        _invoke(kernel, token, args={"seconds": 5})
    assert time.monotonic() - t0 < 4
    assert ei.value.code == "driver_timeout"


def test_streaming_driver_through_invoke_stream(setup):
    kernel, provider, _ = setup
    kernel.register_driver(Streamer())
    # The same driver in the reference's own kernel, for the expected frames.
    reference = Kernel(registry=kernel._registry, token_provider=provider,
                       router=StaticRouter(routes={"records.stream": ["streamer"]}))
    reference.register_driver(Streamer())

    async def collect(k):
        return [f async for f in k.invoke_stream(provider.issue("records.stream", "alice"),
                                                 principal=ALICE, args={}, response_mode="table")]

    def view(frames):
        return [(f.capability_id, f.response_mode, f.table_preview, f.warnings, f.is_final) for f in frames]

    # The sidecar streams (docs/design.md 5): a frame per chunk, then the synthetic final one,
    # exactly as the reference's invoke_stream yields them.
    frames = asyncio.run(collect(kernel))
    assert view(frames) == view(asyncio.run(collect(reference)))
    assert [f.is_final for f in frames] == [False, False, False, True]


def test_principals_get_certificates_on_first_use(setup):
    kernel, provider, driver = setup
    driver.register_handler("records.read", lambda ctx: [{"who": ctx.principal_id}])
    kernel.register_driver(driver)
    newcomer = Principal("newcomer", ["admin"], {"tenant": "t1"})
    grant = kernel.grant_capability(CapabilityRequest("records.read", "read"), newcomer, justification="j")
    assert grant.principal == newcomer  # the sidecar mapped the new certificate to these roles
    frame = _invoke(kernel, grant.token, principal=newcomer, response_mode="raw")
    assert frame.response_mode == "raw" and frame.raw_data == [{"who": newcomer.principal_id}]
    with pytest.raises(TokenScopeError):  # the newcomer's token does not work for alice
        _invoke(kernel, grant.token, principal=ALICE)


def test_orphan_route_and_close(setup):
    kernel, provider, _ = setup
    with pytest.raises(DriverError, match="Driver host has no driver 'missing'"):
        _invoke(kernel, provider.issue("records.orphan", "alice"))
    pid = kernel._dropin._sidecar.pid
    kernel.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_each_kernel_is_isolated_and_start_up_is_measured():
    before = STARTED["kernels"]
    a, provider, _ = _setup()
    b, _, _ = _setup()
    try:
        assert a.url != b.url
        assert isinstance(a._trace_store, RemoteTraceStore)
        with pytest.raises(DriverError):
            _invoke(a, provider.issue("records.orphan", "alice"))
        assert len(a._trace_store.list_all()) == 1 and b._trace_store.list_all() == []
        assert STARTED["kernels"] == before + 2
        assert a._dropin.startup_seconds < 10
    finally:
        a.close()
        b.close()
