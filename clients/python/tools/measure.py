"""Measures the Python client: decoding into the reference's dataclasses, and remote invoke p50
(billing summary, one warm connection) against the reference in process, in the same run.
The timers live in clientbench.py (shared with bench/python_client_bench.py, the point
`make bench` reports); this script runs them against the test fixtures' sidecar.

    CAPGATE_BIN=.build/release/capgate .venv/bin/python clients/python/tools/measure.py [--n 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tests")]

import clientbench as B  # noqa: E402
from conftest import deploy  # noqa: E402  (the test fixtures' sidecar)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    with tempfile.TemporaryDirectory() as root:
        dep = deploy(root)
        try:
            with dep.kernel("alice") as k:
                remote = B.p50_us(B.remote_invoke(k, n=n))
                answers = B.raw_answers(k)
        finally:
            dep.sidecar.stop()
    local = B.p50_us(B.reference_invoke(n=n))
    for name, d in B.decode(answers, n=n).items():
        print(f"decode {name:20s}: json.loads {B.p50_us(d['json_loads']):6.1f} us, "
              f"dataclasses {B.p50_us(d['dataclasses']):6.1f} us ({d['bytes']} bytes)")
    print(f"invoke p50 (billing summary, warm connection): remote {remote:.0f} us, "
          f"reference in process {local:.0f} us, ratio {remote / local:.2f}x (n={n})")


if __name__ == "__main__":
    main()
