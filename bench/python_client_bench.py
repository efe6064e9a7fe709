#!/usr/bin/env python3
"""The Python client's point of capgate-bench (bench/SidecarBench/PythonClient.swift): remote
invoke of billing.list_invoices (summary mode, as every invoke point of the bench) through
``capgate.RemoteKernel.connect`` over one warm connection to the sidecar the bench started (with the certificate it issued to `alice`), and the client's
decode cost (json.loads, then the reference's dataclasses) on that sidecar's real answers.

Prints one JSON object: {"invoke_summary": {samples_ns, elapsed_ns, cpu_ns},
"decode": {"<answer>": {"bytes", "json_loads": {...}, "dataclasses": {...}}}}.
The timers are clients/python/tools/clientbench.py (shared with tools/measure.py); the client is
this checkout's clients/python/src, whatever the venv has installed.
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "clients", "python", "src"), os.path.join(ROOT, "clients", "python", "tools")]

import clientbench as B  # noqa: E402
from capgate import RemoteKernel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True, help="https://127.0.0.1:PORT")
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--seconds", type=float, default=1.0, help="time per point")
    ap.add_argument("--warmup", type=float, default=0.0, help="extra warm-up seconds per point")
    ns = ap.parse_args()
    timing = {"seconds": ns.seconds, "warmup_seconds": ns.warmup}
    # One connection for the whole run: the bench's sidecar never drains it (its
    # maxStreamsPerConnection is 10^9), so the client must not rotate it either.
    with RemoteKernel.connect(ns.url, cert=ns.cert, key=ns.key, ca=ns.ca,
                              streams_per_connection=10**9) as kernel:
        # The same call as every other invoke point of the bench (bench/SidecarBench/Scenario.swift,
        # bench/reference_bench.py): billing.list_invoices, 200 PII rows, summary mode. The
        # client's default (billing.summarize_spend, a few aggregate rows) costs the reference
        # ~150 us instead of ~4.5 ms, so comparing it with the reference's point was wrong.
        out = {"invoke_summary": B.remote_invoke(kernel, capability="billing.list_invoices",
                                                 args={"operation": "list_invoices"}, **timing)}
        answers = B.raw_answers(kernel)
        opened = kernel._transport.connections_opened
    # Decoding is pure CPU: a fraction of the point's time is plenty of samples.
    out["decode"] = B.decode(answers, seconds=max(0.2, ns.seconds / 4), warmup_seconds=0.0)
    out["connections_opened"] = opened
    print(json.dumps(out))


if __name__ == "__main__":
    main()
