"""Runs Tests/Fixtures/http/parity_cases.json through the reference's HTTPDriver.

Usage: reference_http_driver.py CASES BASE_URL DEAD_URL
Prints one JSON array: per case {"name", "data", "metadata"} or {"name", "error"}.
The Swift parity test runs the same cases through capgate's driver and compares.
"""
import asyncio
import json
import sys

from weaver_kernel.drivers.base import ExecutionContext
from weaver_kernel.drivers.http import HTTPDriver, HTTPEndpoint


async def main(cases_path, base, dead):
    spec = json.load(open(cases_path, encoding="utf-8"))
    d = spec["driver"]
    driver = HTTPDriver(d["id"], base_headers=d.get("headers"), max_response_bytes=d.get("max_response_bytes"))
    for op, e in spec["endpoints"].items():
        url = (dead if e.get("dead") else base) + e["path"]
        driver.register_endpoint(op, HTTPEndpoint(url, method=e.get("method", "GET"), headers=e.get("headers", {}),
                                                  timeout=e.get("timeout_s"),
                                                  response_format=e.get("response_format", "json")))
    out = []
    for case in spec["cases"]:
        ctx = ExecutionContext(capability_id=case.get("capability_id", "cap"), principal_id="p",
                               args=case["args"], constraints=case.get("constraints", {}))
        try:
            r = await driver.execute(ctx)
            out.append({"name": case["name"], "data": r.data, "metadata": r.metadata})
        except Exception as exc:  # every failure is compared by its text
            out.append({"name": case["name"], "error": f"{type(exc).__name__}: {exc}"})
    await driver.aclose()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
