"""What the Python client costs, measured one way for both callers: tools/measure.py (a quick
look against a test sidecar) and bench/python_client_bench.py (the point `capgate-bench` adds
to its report, against the sidecar the bench starts).

* remote invoke: ``RemoteKernel.invoke`` of the billing summary over one warm connection, from a
  synchronous caller (``loop.run_until_complete``, as the reference bench calls its kernel);
* reference invoke: ``weaver_kernel.Kernel.invoke`` in process on the same scenario;
* decode: ``json.loads`` of a real answer, and the answer into the reference's dataclasses.

Every timer returns the raw samples (ns), the wall time and the process CPU time of its loop,
so the Swift harness can put them into its own histograms.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from weaver_kernel import (
    Capability,
    CapabilityRegistry,
    CapabilityRequest,
    HMACTokenProvider,
    Kernel,
    Principal,
    SafetyClass,
    StaticRouter,
    make_billing_driver,
)

from capgate import _codec as C

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})
SUMMARY = "billing.summarize_spend"
SUMMARY_ARGS = {"operation": "summarize_spend"}


def sample(fn: Callable[[], Any], *, n: int | None = None, seconds: float | None = None,
           warmup: int = 200, warmup_seconds: float = 0.0) -> dict[str, Any]:
    """Times *fn* *n* times, or for *seconds* (at least 50 calls), after a warm-up."""
    for _ in range(warmup):
        fn()
    end = time.perf_counter() + warmup_seconds
    while time.perf_counter() < end:
        fn()
    samples: list[int] = []
    cpu0, start = time.process_time_ns(), time.perf_counter_ns()
    deadline = time.perf_counter() + (seconds or 0.0)
    while (len(samples) < n) if n is not None else (time.perf_counter() < deadline or len(samples) < 50):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return {"samples_ns": samples, "elapsed_ns": time.perf_counter_ns() - start,
            "cpu_ns": time.process_time_ns() - cpu0}


def p50_us(result: dict[str, Any]) -> float:
    return statistics.median(result["samples_ns"]) / 1000


def remote_invoke(kernel: Any, *, capability: str = SUMMARY, args: dict[str, Any] | None = None,
                  **timing: Any) -> dict[str, Any]:
    """Invokes of *capability* (default: the billing summary) through *kernel* (a ``RemoteKernel``),
    one caller, one connection, summary response mode."""
    token = kernel.grant_capability(CapabilityRequest(capability, "g"), ALICE, justification="measure").token
    call_args = SUMMARY_ARGS if args is None else args
    loop = asyncio.new_event_loop()
    try:
        return sample(lambda: loop.run_until_complete(kernel.invoke(token, principal=ALICE, args=call_args)),
                      **timing)
    finally:
        loop.close()


def reference_invoke(**timing: Any) -> dict[str, Any]:
    """The same invoke on the reference's kernel in process (billing driver, no policy limits hit)."""
    reg = CapabilityRegistry()
    reg.register(Capability(capability_id=SUMMARY, name="s", description="d", safety_class=SafetyClass.READ))
    ref = Kernel(reg, token_provider=HMACTokenProvider(secret="measure"),
                 router=StaticRouter(routes={SUMMARY: ["billing"]}))
    ref.register_driver(make_billing_driver())
    token = ref.get_token(CapabilityRequest(SUMMARY, "g"), ALICE, justification="m")
    loop = asyncio.new_event_loop()
    try:
        return sample(lambda: loop.run_until_complete(ref.invoke(token, principal=ALICE, args=SUMMARY_ARGS)),
                      **timing)
    finally:
        loop.close()


def raw_answers(kernel: Any) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Real wire answers of *kernel*'s sidecar, each with the decoder the client runs on it."""
    t = kernel._t()
    req = CapabilityRequest(SUMMARY, "g")
    token = kernel.grant_capability(req, ALICE, justification="measure").token
    summary = json.dumps(t.call("invoke", {"token": token.to_dict(), "args": SUMMARY_ARGS}))
    tok = kernel.grant_capability(CapabilityRequest("billing.list_invoices", "g"), ALICE, justification="m").token
    table = json.dumps(t.call("invoke", {"token": tok.to_dict(), "args": {"operation": "list_invoices"},
                                         "response_mode": "table"}))
    grant = json.dumps(t.call("grant_capability", {"request": C.request_json(req), "justification": "m"}))
    return {"summary_frame": (summary, C.decode_frame), "table_frame": (table, C.decode_frame),
            "capability_grant": (grant, C.decode_grant)}


def decode(answers: dict[str, tuple[str, Callable[[Any], Any]]], **timing: Any) -> dict[str, Any]:
    """Per answer: ``json_loads`` and ``dataclasses`` (the parsed JSON into the reference's objects)."""
    out: dict[str, Any] = {}
    for name, (text, fn) in answers.items():
        parsed = json.loads(text)
        out[name] = {"bytes": len(text.encode()),
                     "json_loads": sample(lambda: json.loads(text), **timing),
                     "dataclasses": sample(lambda: fn(parsed), **timing)}
    return out
