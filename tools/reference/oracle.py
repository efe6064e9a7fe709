"""Drives the reference ``weaver-kernel`` through one scenario.

``build`` turns a scenario ``setup`` object into a live reference Kernel;
``Runner.run_step`` executes one step op against it. Everything here calls the
reference's public API (plus ``CapabilityToken._signable_payload`` and
``HMACTokenProvider._sign`` for ``sign_fields``, which must use the reference's
own signing path). See README.md for the op table.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from weaver_kernel import (
    BudgetManager,
    Budgets,
    Capability,
    CapabilityRegistry,
    CapabilityRequest,
    DeclarativePolicyEngine,
    DefaultPolicyEngine,
    DriverError,
    Firewall,
    Handle,
    HandleStore,
    HMACTokenProvider,
    ImplementationRef,
    InMemoryDriver,
    Kernel,
    Principal,
    RawResult,
    SafetyClass,
    SensitivityTag,
    StaticRouter,
    ToolHints,
    TraceQuery,
    make_billing_driver,
)

DEFAULT_SECRET = "capgate-parity-secret"
REF_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_\-]+)*)$")


# ── setup ─────────────────────────────────────────────────────────────────────


def make_capability(d: dict[str, Any]) -> Capability:
    impl = d.get("impl")
    hints = d.get("tool_hints")
    return Capability(
        capability_id=d["capability_id"],
        name=d["name"],
        description=d["description"],
        safety_class=SafetyClass(d["safety_class"]),
        sensitivity=SensitivityTag(d.get("sensitivity", "NONE")),
        allowed_fields=list(d.get("allowed_fields", [])),
        tags=list(d.get("tags", [])),
        impl=ImplementationRef(**impl) if impl else None,
        parameters_schema=d.get("parameters_schema"),
        tool_hints=ToolHints(**hints) if hints else None,
    )


class SlowDriver:
    """A driver whose execute awaits ``asyncio.sleep(seconds)`` then returns a copy of data.

    InMemoryDriver handlers are synchronous, so a slow handler needs its own
    driver class. Unknown operations fail like InMemoryDriver's.
    """

    def __init__(self, driver_id: str, seconds: float, data: Any, operations: list[str]) -> None:
        self.driver_id = driver_id
        self._seconds = seconds
        self._data = data
        self._operations = operations

    async def execute(self, ctx: Any) -> RawResult:
        operation = str(ctx.args.get("operation", ctx.capability_id))
        if operation not in self._operations:
            raise DriverError(
                f"InMemoryDriver '{self.driver_id}' has no handler for "
                f"operation='{operation}'. Register one with register_handler()."
            )
        await asyncio.sleep(self._seconds)
        return RawResult(capability_id=ctx.capability_id, data=copy.deepcopy(self._data))


_EXCEPTIONS = {"DriverError": DriverError, "RuntimeError": RuntimeError, "ValueError": ValueError}


def make_driver(spec: dict[str, Any]) -> Any:
    kind = spec["type"]
    if kind == "billing":
        return make_billing_driver()
    if kind == "static":
        driver = InMemoryDriver(driver_id=spec["driver_id"])
        for op, data in spec["operations"].items():
            driver.register_handler(op, lambda ctx, _d=data: copy.deepcopy(_d))
        return driver
    if kind == "failing":
        driver = InMemoryDriver(driver_id=spec["driver_id"])
        exc_cls = _EXCEPTIONS[spec.get("exception", "DriverError")]

        def _fail(ctx: Any, _m: str = spec["message"]) -> Any:
            raise exc_cls(_m)

        for op in spec["operations"]:
            driver.register_handler(op, _fail)
        return driver
    if kind == "slow":
        return SlowDriver(spec["driver_id"], spec["seconds"], spec.get("data"), spec["operations"])
    raise ValueError(f"unknown driver type {kind!r}")


def load_policy(spec: dict[str, Any]) -> Any:
    """Build a DeclarativePolicyEngine from text the way a user would: from a file.

    The file is written as ``policy.toml`` / ``policy.yaml`` in a fresh temp
    directory and loaded through a *relative* path, so PolicyConfigError
    messages (which quote the path) read ``'policy.toml'`` deterministically.
    """
    fmt = spec["format"]
    if fmt == "dict":
        return DeclarativePolicyEngine.from_dict(copy.deepcopy(spec["data"]))
    name = {"toml": "policy.toml", "yaml": "policy.yaml"}[fmt]
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, name).write_text(spec["text"], encoding="utf-8")
        os.chdir(tmp)
        try:
            if fmt == "toml":
                return DeclarativePolicyEngine.from_toml(Path(name))
            return DeclarativePolicyEngine.from_yaml(Path(name))
        finally:
            os.chdir(cwd)


def make_policy(spec: dict[str, Any] | None) -> Any:
    if spec is None or spec.get("type", "default") == "default":
        limits = (spec or {}).get("rate_limits")
        rate_limits = None
        if limits:
            rate_limits = {SafetyClass(k): (v[0], v[1]) for k, v in limits.items()}
        return DefaultPolicyEngine(rate_limits=rate_limits)
    return load_policy(spec)


async def build(setup: dict[str, Any]) -> tuple[Kernel, HMACTokenProvider, Budgets]:
    """Build the reference Kernel a scenario's ``setup`` describes."""
    registry = CapabilityRegistry()
    for cap in setup.get("capabilities", []):
        registry.register(make_capability(cap))
    provider = HMACTokenProvider(secret=setup.get("secret", DEFAULT_SECRET))
    routes = {k: list(v) for k, v in setup.get("routes", {}).items()}
    router = StaticRouter(routes=routes, fallback=setup.get("fallback"))
    budgets = Budgets(**setup.get("firewall", {}))
    budget_spec = setup.get("budget")
    budget = None
    if budget_spec is not None:
        budget = BudgetManager(
            total_budget=budget_spec.get("total", 100000),
            default_request=budget_spec.get("default_request", 4000),
        )
        if budget_spec.get("pre_used"):
            await budget.record_usage(budget_spec["pre_used"])
    kernel = Kernel(
        registry,
        policy=make_policy(setup.get("policy")),
        token_provider=provider,
        router=router,
        firewall=Firewall(budgets),
        handle_store=HandleStore(**setup.get("handles", {})),
        budget_manager=budget,
    )
    for spec in setup.get("drivers", []):
        kernel.register_driver(make_driver(spec))
    return kernel, provider, budgets


# ── step arguments ───────────────────────────────────────────────────────────


def resolve_refs(value: Any, saved: dict[str, Any]) -> Any:
    """Replace ``"$name"`` / ``"$name.a.0.b"`` strings with saved raw outputs."""
    if isinstance(value, str):
        m = REF_RE.match(value)
        if not m:
            return value
        name, path = m.group(1), m.group(2)
        if name not in saved:
            raise KeyError(f"reference to unsaved output {value!r}")
        target = saved[name]
        for part in path.split(".")[1:]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        return copy.deepcopy(target)
    if isinstance(value, dict):
        return {k: resolve_refs(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, saved) for v in value]
    return value


def principal(d: dict[str, Any] | None) -> Principal | None:
    if d is None:
        return None
    return Principal(
        principal_id=d["principal_id"],
        roles=list(d.get("roles", [])),
        attributes=dict(d.get("attributes", {})),
    )


def request(d: dict[str, Any]) -> CapabilityRequest:
    return CapabilityRequest(
        capability_id=d["capability_id"],
        goal=d.get("goal", ""),
        constraints=copy.deepcopy(d.get("constraints", {})),
        intent=d.get("intent"),
        scope=copy.deepcopy(d.get("scope", {})),
    )


def _dt(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text)


def handle(d: dict[str, Any]) -> Handle:
    return Handle(
        handle_id=d["handle_id"],
        capability_id=d["capability_id"],
        created_at=_dt(d["created_at"]),
        expires_at=_dt(d["expires_at"]),
        total_rows=d.get("total_rows", 0),
        principal_id=d.get("principal_id", ""),
        constraints=copy.deepcopy(d.get("constraints", {})),
    )


def trace_query(d: dict[str, Any]) -> TraceQuery:
    fields = dict(d)
    for key in ("since", "until"):
        if isinstance(fields.get(key), str):
            fields[key] = _dt(fields[key])
    return TraceQuery(**fields)
