"""Measures the Python client: decoding into the reference's dataclasses, and remote invoke p50
(billing summary, one warm connection) against the reference in process, in the same run.

    CAPGATE_BIN=.build/release/capgate .venv/bin/python clients/python/tools/measure.py [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from conftest import deploy  # noqa: E402  (the test fixtures' sidecar)
from weaver_kernel import (  # noqa: E402
    CapabilityRegistry, CapabilityRequest, Capability, Kernel, Principal, SafetyClass, StaticRouter,
    make_billing_driver, HMACTokenProvider,
)

from capgate import _codec as C  # noqa: E402

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})


def per_call_us(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    return statistics.median(samples) / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    with tempfile.TemporaryDirectory() as root:
        dep = deploy(root)
        try:
            with dep.kernel("alice") as k:
                req = CapabilityRequest(capability_id="billing.summarize_spend", goal="g")
                token = k.grant_capability(req, ALICE, justification="measure").token
                args = {"operation": "summarize_spend"}
                loop = asyncio.new_event_loop()
                for _ in range(200):
                    loop.run_until_complete(k.invoke(token, principal=ALICE, args=args))
                remote = per_call_us(lambda: loop.run_until_complete(k.invoke(token, principal=ALICE, args=args)), n)
                # the raw answer, for the decode measurements
                raw = json.dumps(k._t().call("invoke", {"token": token.to_dict(), "args": args}))
                tok = k.grant_capability(CapabilityRequest("billing.list_invoices", "g"), ALICE, justification="m").token
                table = json.dumps(k._t().call("invoke", {"token": tok.to_dict(), "args": {"operation": "list_invoices"},
                                                          "response_mode": "table"}))
                grant = json.dumps(k._t().call("grant_capability", {"request": C.request_json(req), "justification": "m"}))
        finally:
            dep.sidecar.stop()

    reg = CapabilityRegistry()
    reg.register(Capability(capability_id="billing.summarize_spend", name="s", description="d",
                            safety_class=SafetyClass.READ))
    provider = HMACTokenProvider(secret="measure")
    ref = Kernel(reg, token_provider=provider, router=StaticRouter(routes={"billing.summarize_spend": ["billing"]}))
    ref.register_driver(make_billing_driver())
    rtoken = ref.get_token(CapabilityRequest("billing.summarize_spend", "g"), ALICE, justification="m")
    loop = asyncio.new_event_loop()
    for _ in range(200):
        loop.run_until_complete(ref.invoke(rtoken, principal=ALICE, args=args))
    local = per_call_us(lambda: loop.run_until_complete(ref.invoke(rtoken, principal=ALICE, args=args)), n)

    for name, text, fn in (("summary Frame", raw, C.decode_frame), ("50-row table Frame", table, C.decode_frame),
                           ("CapabilityGrant", grant, C.decode_grant)):
        parsed = json.loads(text)
        print(f"decode {name:20s}: json.loads {per_call_us(lambda: json.loads(text), n):6.1f} us, "
              f"dataclasses {per_call_us(lambda: fn(parsed), n):6.1f} us ({len(text)} bytes)")
    print(f"invoke p50 (billing summary, warm connection): remote {remote:.0f} us, "
          f"reference in process {local:.0f} us, ratio {remote / local:.2f}x (n={n})")


if __name__ == "__main__":
    main()
