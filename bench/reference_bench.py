#!/usr/bin/env python3
"""Times the Python reference (weaver-kernel 0.12.0) on the same scenarios as the Swift
kernel bench (bench/KernelBench), so both sides are measured in one run on one machine.

Prints one JSON object: {"<scenario>/<verb>": {"p50_ns": .., "p99_ns": .., "n": ..}, ...}.
The scenarios mirror bench/KernelBench/Scenarios.swift; keep the two in step.
"""
import argparse
import asyncio
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
UNLIMITED = {SafetyClass.READ: (10**12, 60.0)}


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


def measure(fn, seconds, min_n=50):
    for _ in range(min(200, max(10, min_n // 5))):  # warm-up
        fn()
    samples = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(samples) < min_n:
        t0 = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    return {"p50_ns": percentile(samples, 0.50), "p99_ns": percentile(samples, 0.99), "n": len(samples)}


def run(seconds):
    loop = asyncio.new_event_loop()
    results = {}
    for name, make in (("quickstart", quickstart_kernel), ("billing", billing_kernel)):
        kernel, principal, cap, goal, args, query = make()
        request = CapabilityRequest(capability_id=cap, goal=goal)
        token = kernel.get_token(request, principal, justification="")
        results[f"{name}/request_capabilities"] = measure(lambda: kernel.request_capabilities(goal), seconds)
        results[f"{name}/grant_capability"] = measure(
            lambda: kernel.grant_capability(request, principal, justification=""), seconds)
        for mode in ("summary", "table"):
            results[f"{name}/invoke_{mode}"] = measure(
                lambda: loop.run_until_complete(
                    kernel.invoke(token, principal=principal, args=args, response_mode=mode)), seconds)
        # A fresh handle: the invoke runs above may have evicted older ones (10k kept).
        frame = loop.run_until_complete(kernel.invoke(token, principal=principal, args=args))
        results[f"{name}/expand"] = measure(
            lambda: kernel.expand(frame.handle, query=query, principal=principal), seconds)
        # A fresh trace likewise (the trace store keeps the last 10k).
        last = loop.run_until_complete(kernel.invoke(token, principal=principal, args=args))
        results[f"{name}/explain"] = measure(lambda: kernel.explain(last.action_id), seconds)
    loop.close()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=1.0, help="time per verb")
    ns = parser.parse_args()
    print(json.dumps(run(ns.seconds)))
