"""The step ops: each takes the resolved step object and returns raw JSON output.

One function per op, registered in ``OPS``. An op raises whatever the
reference raises; ``record.py`` turns the exception into an error result.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from typing import Any

from weaver_kernel import CapabilityToken, HMACTokenProvider, RawResult
from weaver_kernel.firewall import Budgets, Firewall, redact, summarize

import oracle
from normalize import jsonable


class Context:
    """Live state of one scenario run."""

    def __init__(self, kernel: Any, provider: HMACTokenProvider, budgets: Budgets) -> None:
        self.kernel = kernel
        self.provider = provider
        self.budgets = budgets


Op = Callable[[Context, dict[str, Any]], Awaitable[Any]]
OPS: dict[str, Op] = {}


def op(name: str) -> Callable[[Op], Op]:
    def register(fn: Op) -> Op:
        OPS[name] = fn
        return fn

    return register


def _token(d: dict[str, Any]) -> CapabilityToken:
    return CapabilityToken.from_dict(copy.deepcopy(d))


@op("request_capabilities")
async def _request_capabilities(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.request_capabilities(s["goal"]))


@op("list_capabilities")
async def _list_capabilities(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.list_capabilities())


@op("grant")
async def _grant(ctx: Context, s: dict[str, Any]) -> Any:
    grant = ctx.kernel.grant_capability(
        oracle.request(s["request"]),
        oracle.principal(s["principal"]),
        justification=s.get("justification", ""),
    )
    return jsonable(grant)


@op("explain_denial")
async def _explain_denial(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(
        ctx.kernel.explain_denial(
            oracle.request(s["request"]),
            oracle.principal(s["principal"]),
            justification=s.get("justification", ""),
        )
    )


@op("invoke")
async def _invoke(ctx: Context, s: dict[str, Any]) -> Any:
    result = await ctx.kernel.invoke(
        _token(s["token"]),
        principal=oracle.principal(s["principal"]),
        args=copy.deepcopy(s.get("args", {})),
        response_mode=s.get("response_mode", "summary"),
        dry_run=s.get("dry_run", False),
    )
    return jsonable(result)


@op("expand")
async def _expand(ctx: Context, s: dict[str, Any]) -> Any:
    frame = ctx.kernel.expand(
        oracle.handle(s["handle"]),
        query=copy.deepcopy(s.get("query", {})),
        principal=oracle.principal(s.get("principal")),
    )
    return jsonable(frame)


@op("explain")
async def _explain(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.explain(s["action_id"]))


@op("list_traces")
async def _list_traces(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.list_traces())


@op("query_traces")
async def _query_traces(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.query_traces(oracle.trace_query(s.get("query", {}))))


@op("stats")
async def _stats(ctx: Context, s: dict[str, Any]) -> Any:
    return jsonable(ctx.kernel.stats)


@op("revoke")
async def _revoke(ctx: Context, s: dict[str, Any]) -> Any:
    ctx.provider.revoke(s["token_id"])
    return None


@op("revoke_all")
async def _revoke_all(ctx: Context, s: dict[str, Any]) -> Any:
    return ctx.provider.revoke_all(s["principal_id"])


@op("issue_token")
async def _issue_token(ctx: Context, s: dict[str, Any]) -> Any:
    token = ctx.provider.issue(
        s["capability_id"],
        s["principal_id"],
        constraints=copy.deepcopy(s.get("constraints")),
        ttl_seconds=s.get("ttl_seconds", 3600),
        audit_id=s.get("audit_id", ""),
    )
    return jsonable(token)


def _patched(value: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(value)
    out.update(copy.deepcopy(changes))
    return out


@op("tamper_token")
async def _tamper_token(ctx: Context, s: dict[str, Any]) -> Any:
    return _patched(s["token"], s["set"])


@op("patch")
async def _patch(ctx: Context, s: dict[str, Any]) -> Any:
    return _patched(s["value"], s["set"])


@op("verify_token")
async def _verify_token(ctx: Context, s: dict[str, Any]) -> Any:
    ctx.provider.verify(
        _token(s["token"]),
        expected_principal_id=s["expected_principal_id"],
        expected_capability_id=s["expected_capability_id"],
    )
    return None


@op("sign_fields")
async def _sign_fields(ctx: Context, s: dict[str, Any]) -> Any:
    f = s["fields"]
    token = CapabilityToken(
        token_id=f["token_id"],
        capability_id=f["capability_id"],
        principal_id=f["principal_id"],
        issued_at=oracle._dt(f["issued_at"]),
        expires_at=oracle._dt(f["expires_at"]),
        constraints=copy.deepcopy(f.get("constraints", {})),
        audit_id=f.get("audit_id", ""),
    )
    provider = HMACTokenProvider(secret=s.get("secret", oracle.DEFAULT_SECRET))
    canonical = token._signable_payload()
    # The same call HMACTokenProvider.issue makes on a fresh token.
    token.signature = provider._sign(canonical)
    return {"canonical": canonical, "signature": token.signature}


@op("redact")
async def _redact(ctx: Context, s: dict[str, Any]) -> Any:
    data, warnings = redact(
        copy.deepcopy(s["data"]),
        allowed_fields=s.get("allowed_fields"),
        max_depth=s.get("max_depth", 3),
    )
    return {"data": jsonable(data), "warnings": warnings}


@op("summarize")
async def _summarize(ctx: Context, s: dict[str, Any]) -> Any:
    return summarize(copy.deepcopy(s["data"]), max_facts=s.get("max_facts", 20))


@op("transform")
async def _transform(ctx: Context, s: dict[str, Any]) -> Any:
    budgets = Budgets(**s["budgets"]) if "budgets" in s else ctx.budgets
    frame = Firewall(budgets).transform(
        RawResult(capability_id="test.cap", data=copy.deepcopy(s["data"])),
        action_id="act-1",
        principal_id="p1",
        principal_roles=list(s.get("roles", [])),
        response_mode=s.get("response_mode", "summary"),
        constraints=copy.deepcopy(s.get("constraints", {})),
        handle=None,
    )
    return jsonable(frame)


@op("load_policy")
async def _load_policy(ctx: Context, s: dict[str, Any]) -> Any:
    oracle.load_policy(s)
    return None


@op("sleep")
async def _sleep(ctx: Context, s: dict[str, Any]) -> Any:
    await asyncio.sleep(s["seconds"])
    return None
