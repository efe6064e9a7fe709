#!/usr/bin/env python3
"""Times the Python reference (weaver-kernel 0.12.0) on the same scenarios as the Swift
kernel bench (bench/KernelBench), so both sides are measured in one run on one machine.

Prints one JSON object: {"<scenario>/<verb>": {"p50_ns": .., "p99_ns": .., "n": .., "cpu_p50_ns": ..}, ...}
(`cpu_p50_ns`: p50 of each call's process CPU time, which machine load does not inflate).
With --raw (capgate-bench, bench/SidecarBench) each entry also carries "samples_ns" (every
timed call, so the Swift harness puts them into the same HdrHistogram as its own points),
"elapsed_ns" (wall time of the timed loop) and "cpu_ns" (process CPU time of the loop);
--scenario restricts the run to one scenario; without it, "harness/timer_floor" is the p50 of
an empty call through the same loop (the timer's own share of every point's p50).
The scenarios mirror bench/KernelBench/Scenarios.swift and bench/SidecarBench/Scenario.swift;
keep them in step.
"""
import argparse
import asyncio
import functools
import json
import os
import time

from weaver_kernel import (
    Capability,
    CapabilityRegistry,
    InMemoryDriver,
    Kernel,
    Principal,
    SafetyClass,
    StaticRouter,
)
from weaver_kernel.drivers.memory import make_billing_driver
from weaver_kernel.enums import SensitivityTag
from weaver_kernel.models import CapabilityRequest
from weaver_kernel.policy import DefaultPolicyEngine
from weaver_kernel.tokens import HMACTokenProvider

SECRET = "bench-secret"
# A 1 ms window: the sliding-window log keeps every hit of its window, so a 60 s window at
# thousands of grants/s makes each grant scan an ever longer list (on both sides).
UNLIMITED = {SafetyClass.READ: (10**12, 0.001)}


def quickstart_kernel():
    registry = CapabilityRegistry()
    registry.register(Capability(capability_id="tasks.list", name="List Tasks", description="List tasks",
                                 safety_class=SafetyClass.READ, tags=["tasks"]))
    driver = InMemoryDriver()
    driver.register_handler("tasks.list", lambda ctx: [{"id": 1, "title": "Buy milk"}])
    kernel = Kernel(registry=registry, policy=DefaultPolicyEngine(rate_limits=UNLIMITED),
                    token_provider=HMACTokenProvider(secret=SECRET),
                    router=StaticRouter(routes={"tasks.list": ["memory"]}))
    kernel.register_driver(driver)
    return kernel, Principal(principal_id="alice", roles=["reader"]), "tasks.list", "list tasks", {}, \
        {"limit": 1, "fields": ["title"]}


def billing_kernel():
    registry = CapabilityRegistry()
    registry.register(Capability(
        capability_id="billing.list_invoices", name="List Invoices",
        description="List all invoices, optionally filtered by status", safety_class=SafetyClass.READ,
        sensitivity=SensitivityTag.PII,
        allowed_fields=["id", "customer_name", "amount", "currency", "status", "date"],
        tags=["billing", "invoices", "list"]))
    registry.register(Capability(
        capability_id="billing.summarize_spend", name="Summarize Spend",
        description="Summarize total spend per currency and status", safety_class=SafetyClass.READ,
        tags=["billing", "summary", "analytics"]))
    kernel = Kernel(registry=registry, policy=DefaultPolicyEngine(rate_limits=UNLIMITED),
                    token_provider=HMACTokenProvider(secret=SECRET),
                    router=StaticRouter(routes={"billing.list_invoices": ["billing"],
                                                "billing.summarize_spend": ["billing"]}))
    kernel.register_driver(make_billing_driver())
    return kernel, Principal(principal_id="alice", roles=["reader"], attributes={"tenant": "acme"}), \
        "billing.list_invoices", "list unpaid invoices", {"operation": "list_invoices"}, \
        {"offset": 10, "limit": 20, "fields": ["id", "amount"]}


def percentile(sorted_ns, q):
    if not sorted_ns:
        return 0
    i = min(len(sorted_ns) - 1, max(0, int(round(q * (len(sorted_ns) - 1)))))
    return sorted_ns[i]


def measure(fn, seconds, min_n=50, raw=False, warmup=0.0):
    for _ in range(min(200, max(10, min_n // 5))):  # warm-up
        fn()
    warm_end = time.perf_counter() + warmup
    while time.perf_counter() < warm_end:
        fn()
    samples = []
    cpu_samples = []
    cpu0 = time.process_time_ns()
    start = time.perf_counter_ns()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < min_n:
        # CPU time of the call too (read outside the wall window): on a loaded machine a
        # call of several ms is preempted most of the time, so its wall p50 grows with the
        # load while a µs call's does not, and wall ratios then flatter the faster side.
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        fn()
        t1 = time.perf_counter_ns()
        cpu_samples.append(time.process_time_ns() - c0)
        samples.append(t1 - t0)
    elapsed = time.perf_counter_ns() - start
    cpu = time.process_time_ns() - cpu0
    out_samples = list(samples) if raw else None
    samples.sort()
    cpu_samples.sort()
    out = {"p50_ns": percentile(samples, 0.50), "p99_ns": percentile(samples, 0.99), "n": len(samples),
           "cpu_p50_ns": percentile(cpu_samples, 0.50)}
    if raw:
        out.update({"samples_ns": out_samples, "elapsed_ns": elapsed, "cpu_ns": cpu})
    return out


def run(seconds, raw=False, only=None, warmup=0.0):
    loop = asyncio.new_event_loop()
    results = {}
    timed = functools.partial(measure, raw=raw, warmup=warmup)
    if not only:
        # The timer floor: an empty call through the same loop, which every point's p50
        # includes (bench/KernelBench measures its own under the same name).
        results["harness/timer_floor"] = timed(lambda: None, seconds)
    for name, make in (("quickstart", quickstart_kernel), ("billing", billing_kernel)):
        if only and name != only:
            continue
        kernel, principal, cap, goal, args, query = make()
        request = CapabilityRequest(capability_id=cap, goal=goal)
        token = kernel.get_token(request, principal, justification="")
        frame = loop.run_until_complete(kernel.invoke(token, principal=principal, args=args))
        results[f"{name}/request_capabilities"] = timed(lambda: kernel.request_capabilities(goal), seconds)
        results[f"{name}/grant_capability"] = timed(
            lambda: kernel.grant_capability(request, principal, justification=""), seconds)
        for mode in ("summary", "table"):
            results[f"{name}/invoke_{mode}"] = timed(
                lambda: loop.run_until_complete(
                    kernel.invoke(token, principal=principal, args=args, response_mode=mode)), seconds)
        # A fresh action right before each point: the invoke points above may have evicted
        # the first one from the handle and trace stores (the Swift harness does the same).
        frame = loop.run_until_complete(kernel.invoke(token, principal=principal, args=args))
        results[f"{name}/expand"] = timed(
            lambda: kernel.expand(frame.handle, query=query, principal=principal), seconds)
        frame = loop.run_until_complete(kernel.invoke(token, principal=principal, args=args))
        results[f"{name}/explain"] = timed(lambda: kernel.explain(frame.action_id), seconds)
    loop.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="time per verb")
    parser.add_argument("--warmup", type=float, default=0.0, help="extra warm-up seconds per verb")
    parser.add_argument("--raw", action="store_true", help="include every sample, wall and CPU time")
    parser.add_argument("--scenario", choices=("quickstart", "billing"), help="run one scenario only")
    ns = parser.parse_args()
    print(json.dumps(run(ns.seconds, raw=ns.raw, only=ns.scenario, warmup=ns.warmup)))
