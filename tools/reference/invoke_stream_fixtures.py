# Records weaver_kernel 0.12.0 Kernel.invoke_stream outcomes for
# Tests/AgentKernelTests/Kernel/InvokeStreamFixtures.swift:
#   .venv/bin/python tools/reference/invoke_stream_fixtures.py > Tests/AgentKernelTests/Kernel/InvokeStreamFixtures.swift
# Each scenario names its route, mode, roles, constraints and the streaming driver's script
# (chunks, sleeps, a raise); the Swift test replays the same scenario. Ids and times are
# normalized away: frames keep mode, facts, rows, raw data, warnings, is_final and whether a
# handle is present; traces keep everything but ids and times.
import asyncio
import gc
import json

from weaver_kernel import (Capability, CapabilityRegistry, HMACTokenProvider, Kernel, Principal,
                           RawResult, SafetyClass, StaticRouter)
from weaver_kernel.errors import DriverError

CID = "docs.read"


class ScriptDriver:
    """A streaming driver that plays a script: chunk objects, sleeps, a DriverError."""

    def __init__(self, script):
        self.driver_id = "stream"
        self.script = script

    async def execute(self, ctx):
        return RawResult(capability_id=ctx.capability_id, data={"unused": True})

    async def execute_stream(self, ctx):
        for step in self.script:
            if "sleep" in step:
                await asyncio.sleep(step["sleep"])
            elif "raise" in step:
                raise DriverError(step["raise"])
            else:
                yield step["chunk"]


class PlainDriver:
    """A non-streaming driver: fixed data, a DriverError, or a sleep first."""

    def __init__(self, driver_id, data=None, fail=None, sleep=None):
        self.driver_id = driver_id
        self.data, self.fail, self.sleep = data, fail, sleep

    async def execute(self, ctx):
        if self.sleep:
            await asyncio.sleep(self.sleep)
        if self.fail:
            raise DriverError(self.fail)
        return RawResult(capability_id=ctx.capability_id, data=self.data)


def plain(driver_id, data=None, fail=None, sleep=None):
    return PlainDriver(driver_id, data, fail, sleep)


FILL = "x" * 300
SCENARIOS = [
    {"name": "split_secret_summary", "route": ["stream"], "mode": "summary", "script": [
        {"chunk": {"text": FILL + " mail ali", "n": 1}},
        {"chunk": {"text": "ce@example.com ok " + "y " * 200, "n": 2}},
        {"chunk": {"text": "tail bob@exa"}},
        {"chunk": {"text": "mple.org end", "n": 4}}]},
    {"name": "table_explicit_final", "route": ["stream"], "mode": "table",
     "constraints": {"max_rows": 5}, "script": [
        {"chunk": {"id": 1, "email": "a@b.com", "note": "hi"}},
        {"chunk": {"id": 2, "note": "card 4111 1111 1111 1111", "__is_final__": True}},
        {"chunk": {"id": 3, "note": "after final"}}]},
    {"name": "final_flushes_absent_field", "route": ["stream"], "mode": "table", "script": [
        {"chunk": {"log": FILL + " token sk-abcdefghij"}},
        {"chunk": {"other": 5, "__is_final__": 1}}]},
    {"name": "raw_admin", "route": ["stream"], "mode": "raw", "roles": ["admin"], "script": [
        {"chunk": {"nested": {"email": "c@d.org", "phone": "555-123-4567"}, "s": "Bearer abc.def"}}]},
    {"name": "raw_nonadmin_downgraded", "route": ["stream"], "mode": "raw", "script": [
        {"chunk": {"a": [1, 2, 3]}}]},
    {"name": "handle_only_stream", "route": ["stream"], "mode": "handle_only", "script": [
        {"chunk": {"a": "x@y.com"}}]},
    {"name": "empty_stream", "route": ["stream"], "mode": "summary", "script": []},
    {"name": "fallback_plain", "route": ["plain"], "mode": "table", "script": []},
    {"name": "fallback_last_registered", "route": ["nope", "plain", "plain2"], "mode": "summary", "script": []},
    {"name": "streaming_wins_over_earlier_plain", "route": ["plain", "stream", "plain2"], "mode": "table",
     "script": [{"chunk": {"k": "v"}}]},
    {"name": "fallback_raw_admin_no_handle", "route": ["plain"], "mode": "raw", "roles": ["admin"], "script": []},
    {"name": "fallback_driver_error", "route": ["boom"], "mode": "summary", "script": []},
    {"name": "fallback_timeout", "route": ["slow"], "mode": "summary",
     "constraints": {"invoke_timeout_s": 0.1}, "script": []},
    {"name": "no_driver", "route": ["nope"], "mode": "summary", "script": []},
    {"name": "error_mid_stream", "route": ["stream"], "mode": "summary", "script": [
        {"chunk": {"t": "one"}}, {"chunk": {"t": "two"}}, {"raise": "backend lost; tell ops@example.com"}]},
    {"name": "error_before_first_chunk", "route": ["stream"], "mode": "table", "script": [
        {"raise": "cannot connect"}]},
    {"name": "timeout_between_chunks", "route": ["stream"], "mode": "summary",
     "constraints": {"invoke_timeout_s": 1}, "script": [
        {"chunk": {"t": "first"}}, {"sleep": 1.5}, {"chunk": {"t": "late"}}]},
    {"name": "consumer_stops_early", "route": ["stream"], "mode": "table", "stop_after": 1, "script": [
        {"chunk": {"i": 1}}, {"chunk": {"i": 2}}, {"chunk": {"i": 3}}]},
    {"name": "bad_max_rows_mid_stream", "route": ["stream"], "mode": "table",
     "constraints": {"max_rows": "many"}, "script": [{"chunk": {"i": 1}}]},
]


def frame_view(f):
    return {"response_mode": f.response_mode, "facts": f.facts, "table_preview": f.table_preview,
            "raw_data": f.raw_data, "warnings": f.warnings, "is_final": f.is_final,
            "has_handle": f.handle is not None}


def trace_view(t):
    return {"capability_id": t.capability_id, "principal_id": t.principal_id, "args": t.args,
            "response_mode": t.response_mode, "driver_id": t.driver_id,
            "has_handle_id": t.handle_id is not None, "result_summary": t.result_summary,
            "error": t.error, "sensitivity": str(getattr(t.sensitivity, "value", t.sensitivity))}


async def run(s):
    registry = CapabilityRegistry()
    registry.register(Capability(capability_id=CID, name="Read docs", description="d",
                                 safety_class=SafetyClass.READ))
    provider = HMACTokenProvider(secret="stream-fixtures")
    kernel = Kernel(registry=registry, token_provider=provider,
                    router=StaticRouter(routes={CID: s["route"]}))
    kernel.register_driver(ScriptDriver(s["script"]))
    kernel.register_driver(plain("plain", data=[{"id": 1, "email": "p@q.com"}, {"id": 2}]))
    kernel.register_driver(plain("plain2", data={"owner": "z@w.io", "count": 3}))
    kernel.register_driver(plain("boom", fail="db down for admin@corp.com"))
    kernel.register_driver(plain("slow", data=1, sleep=1.0))
    roles = s.get("roles", ["reader"])
    principal = Principal(principal_id="agent-1", roles=roles)
    token = provider.issue(CID, principal.principal_id, constraints=s.get("constraints", {}))
    args = {"q": "alice@example.com", "operation": CID}
    frames, error = [], None
    gen = kernel.invoke_stream(token, principal=principal, args=args, response_mode=s["mode"])
    try:
        async for f in gen:
            frames.append(frame_view(f))
            if s.get("stop_after") and len(frames) >= s["stop_after"]:
                await gen.aclose()
                break
    except Exception as exc:  # noqa: BLE001 - recorded as the outcome
        error = {"type": type(exc).__name__, "message": str(exc)}
    # An abandoned inner generator is closed by the loop's async-generator finalizer: let it run.
    del gen
    gc.collect()
    for _ in range(3):
        await asyncio.sleep(0)
    traces = kernel._traces.list() if hasattr(kernel._traces, "list") else kernel.list_traces()
    st = kernel._stats.snapshot() if hasattr(kernel._stats, "snapshot") else kernel.stats()
    st = st if isinstance(st, dict) else {k: getattr(st, k) for k in dir(st) if not k.startswith("_")}
    return {**s, "roles": roles, "constraints": s.get("constraints", {}), "args": args, "frames": frames,
            "error": error, "traces": [trace_view(t) for t in traces],
            "stats": {k: st[k] for k in ("invocations", "invocation_failures", "fallback_activations",
                                         "redaction_events", "budget_downgrades", "handle_stores")}}


async def main():
    out = [await run(s) for s in SCENARIOS]
    text = json.dumps(out, ensure_ascii=True, indent=0)
    print("// Generated by tools/reference/invoke_stream_fixtures.py: weaver_kernel 0.12.0")
    print("// Kernel.invoke_stream per scenario: frames (ids and times dropped), error, traces, stats.")
    print("enum InvokeStreamFixtures {")
    print("    static let json = #\"\"\"")
    print(text)
    print("\"\"\"#")
    print("}")

asyncio.run(main())
