"""Every error the wire can answer is re-raised as the reference's class, with `.code`.

Live: every code a client can reach through a real sidecar. The mapper alone: every row of
docs/errors.md (also the ones no request reaches, and a non-envelope answer)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from weaver_kernel import (
    AgentKernelError,
    BudgetExhausted,
    CapabilityNotFound,
    CapabilityRequest,
    DriverError,
    Handle,
    HandleConstraintViolation,
    HandleExpired,
    HandleNotFound,
    HandleTooLarge,
    HMACTokenProvider,
    PolicyDenied,
    Principal,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
    TokenScopeError,
    TraceQuery,
)

from capgate._errors import error_from_envelope
from capgate._transport import make_ssl_context

from .conftest import SECRET, deploy

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})
OPS = Principal("ops", ["admin"], {"tenant": "acme"})


@pytest.fixture(scope="module")
def alice(deployment):
    with deployment.kernel("alice") as k:
        yield k


def _code(excinfo) -> str:
    return excinfo.value.code


def _grant(k, cap: str, principal=ALICE):
    return k.grant_capability(CapabilityRequest(capability_id=cap, goal="g"), principal,
                              justification="a long enough justification for writes")


def _invoke(k, token, principal=ALICE, **kw):
    return asyncio.run(k.invoke(token, principal=principal, args=kw.pop("args", {}), **kw))


def test_policy_denied_has_reason_code(alice):
    with pytest.raises(PolicyDenied) as ei:
        _grant(alice, "tasks.create")
    assert _code(ei) == "policy_denied" and ei.value.reason_code == "missing_role"
    assert ei.value.status == 403


def test_rate_limited_is_policy_denied(deployment):
    with deployment.kernel("ops") as ops:
        _grant(ops, "tasks.purge", OPS)  # DESTRUCTIVE: 1 per 60 s in this deployment
        with pytest.raises(PolicyDenied) as ei:
            _grant(ops, "tasks.purge", OPS)
    assert _code(ei) == "rate_limited" and ei.value.reason_code == "rate_limited"


def test_capability_not_found(alice):
    with pytest.raises(CapabilityNotFound) as ei:
        _grant(alice, "no.such.capability")
    assert _code(ei) == "capability_not_found"


def test_token_errors(alice):
    provider = HMACTokenProvider(secret=SECRET)  # the sidecar's secret: tokens minted here verify
    good = provider.issue("billing.summarize_spend", "alice")
    assert _invoke(alice, good, args={"operation": "summarize_spend"}).is_final
    tampered = provider.issue("billing.summarize_spend", "alice")
    tampered.signature = "0" * len(tampered.signature)
    with pytest.raises(TokenInvalid) as ei:
        _invoke(alice, tampered)
    assert _code(ei) == "token_invalid"
    with pytest.raises(TokenExpired) as ei:
        _invoke(alice, provider.issue("billing.summarize_spend", "alice", ttl_seconds=-5))
    assert _code(ei) == "token_expired"
    with pytest.raises(TokenScopeError) as ei:
        _invoke(alice, provider.issue("billing.summarize_spend", "bob"))
    assert _code(ei) == "token_scope"


def test_token_revoked(deployment, alice):
    grant = _grant(alice, "billing.summarize_spend")
    with deployment.kernel("ops") as ops:
        ops.revoke(grant.token.token_id)
    with pytest.raises(TokenRevoked) as ei:
        _invoke(alice, grant.token)
    assert _code(ei) == "token_revoked"


def test_handle_errors(deployment, alice):
    grant = _grant(alice, "billing.list_invoices")
    frame = _invoke(alice, grant.token, args={"operation": "list_invoices"})
    with pytest.raises(HandleConstraintViolation) as ei:
        alice.expand(frame.handle, query={"limit": 10_000}, principal=ALICE)
    assert _code(ei) == "handle_constraint_violation"
    assert ei.value.reason_code == "handle_constraint_violation"
    with deployment.kernel("bob") as bob:
        with pytest.raises(HandleConstraintViolation) as ei:
            bob.expand(frame.handle, query={}, principal=Principal("bob", ["reader"]))
    assert ei.value.reason_code == "handle_principal_mismatch"
    fake = Handle(handle_id="no-such-handle", capability_id="x", created_at=frame.handle.created_at,
                  expires_at=frame.handle.expires_at)
    with pytest.raises(HandleNotFound) as ei:
        alice.expand(fake, query={}, principal=ALICE)
    assert _code(ei) == "handle_not_found"


def test_driver_error(alice):
    grant = _grant(alice, "billing.summarize_spend")
    with pytest.raises(DriverError) as ei:
        _invoke(alice, grant.token, args={"operation": "no_such_operation"})
    assert _code(ei) == "driver_error" and ei.value.status == 502
    assert "All drivers failed" in str(ei.value)


def test_trace_not_found_and_bad_query(alice):
    with pytest.raises(AgentKernelError) as ei:
        alice.explain("no-such-action")
    assert type(ei.value) is AgentKernelError and _code(ei) == "trace_not_found"
    with pytest.raises(AgentKernelError) as ei:
        alice.query_traces(TraceQuery(limit=-1))
    assert _code(ei) == "invalid_request"


def test_wire_only_codes(deployment, alice):
    with pytest.raises(AgentKernelError) as ei:
        asyncio.run(alice.invoke(_grant(alice, "billing.summarize_spend").token,
                                 principal=Principal("bob"), args={}))
    assert type(ei.value) is AgentKernelError and _code(ei) == "principal_mismatch"
    with pytest.raises(AgentKernelError) as ei:
        alice.revoke("anything")
    assert _code(ei) == "forbidden" and ei.value.status == 403
    with pytest.raises(AgentKernelError) as ei:
        alice._t().call("no_such_verb", {})
    assert _code(ei) == "unknown_verb" and ei.value.status == 404
    with pytest.raises(AgentKernelError) as ei:
        alice._t().call("stats", {"unexpected": 1})
    assert _code(ei) == "invalid_request"
    # an identity no rule maps: readable error, not a TLS failure
    with deployment.kernel("stranger") as stranger:
        with pytest.raises(AgentKernelError) as ei:
            stranger.list_capabilities()
    assert _code(ei) == "unknown_identity"


def test_transport_level_answers_use_the_envelope(deployment):
    """415, 405, 413 and invalid JSON come from below the kernel: same envelope, same mapping."""
    a = deployment.agent("alice")
    ctx = make_ssl_context(cert=a.cert, key=a.key, ca=deployment.pki.ca)
    with httpx.Client(http1=False, http2=True, verify=ctx, timeout=10) as c:
        cases = [
            (c.post(f"{deployment.url}/v1/stats", content=b"{}", headers={"content-type": "text/plain"}),
             "unsupported_media_type"),
            (c.get(f"{deployment.url}/v1/stats"), "method_not_allowed"),
            (c.post(f"{deployment.url}/v1/stats", content=b"{\"a\":", headers={"content-type": "application/json"}),
             "invalid_json"),
            (c.post(f"{deployment.url}/v1/invoke", content=b"x" * (4 << 20),
                    headers={"content-type": "application/json"}), "body_too_large"),
        ]
    for resp, code in cases:
        exc = error_from_envelope(resp.status_code, resp.json())
        assert type(exc) is AgentKernelError and exc.code == code, (resp.status_code, resp.text)


def test_budget_exhausted(tmp_path):
    dep = deploy(str(tmp_path), budget_total=30)
    try:
        with dep.kernel("alice") as k:
            grant = _grant(k, "billing.list_invoices")
            with pytest.raises(BudgetExhausted) as ei:
                for _ in range(20):
                    _invoke(k, grant.token, args={"operation": "list_invoices"}, response_mode="table")
    finally:
        dep.sidecar.stop()
    assert _code(ei) == "budget_exhausted" and ei.value.status == 429


# ---- the mapper alone: every row of docs/errors.md ---------------------------------------

ROWS = [
    ("invalid_json", 400, "AgentKernelError", AgentKernelError),
    ("invalid_request", 400, "ValueError", ValueError),
    ("unsupported_media_type", 415, "AgentKernelError", AgentKernelError),
    ("body_too_large", 413, "AgentKernelError", AgentKernelError),
    ("unknown_verb", 404, "AgentKernelError", AgentKernelError),
    ("method_not_allowed", 405, "AgentKernelError", AgentKernelError),
    ("unknown_identity", 403, "AgentKernelError", AgentKernelError),
    ("principal_mismatch", 403, "AgentKernelError", AgentKernelError),
    ("forbidden", 403, "AgentKernelError", AgentKernelError),
    ("policy_denied", 403, "PolicyDenied", PolicyDenied),
    ("rate_limited", 429, "PolicyDenied", PolicyDenied),
    ("budget_exhausted", 429, "BudgetExhausted", BudgetExhausted),
    ("token_invalid", 401, "TokenInvalid", TokenInvalid),
    ("token_expired", 401, "TokenExpired", TokenExpired),
    ("token_revoked", 401, "TokenRevoked", TokenRevoked),
    ("token_scope", 403, "TokenScopeError", TokenScopeError),
    ("capability_not_found", 404, "CapabilityNotFound", CapabilityNotFound),
    ("handle_not_found", 404, "HandleNotFound", HandleNotFound),
    ("trace_not_found", 404, "AgentKernelError", AgentKernelError),
    ("handle_expired", 410, "HandleExpired", HandleExpired),
    ("handle_too_large", 413, "HandleTooLarge", HandleTooLarge),
    ("handle_constraint_violation", 403, "HandleConstraintViolation", HandleConstraintViolation),
    ("driver_error", 502, "DriverError", DriverError),
    ("driver_timeout", 504, "DriverError", DriverError),
    ("headers_too_large", 431, "AgentKernelError", AgentKernelError),
    ("request_timeout", 408, "AgentKernelError", AgentKernelError),
    ("overloaded", 503, "AgentKernelError", AgentKernelError),
    ("internal", 500, "DriverError", DriverError),
]


@pytest.mark.parametrize(("code", "status", "type_name", "cls"), ROWS)
def test_mapper_row(code, status, type_name, cls):
    reason = "why" if cls in (PolicyDenied, HandleConstraintViolation) else None
    exc = error_from_envelope(status, {"error": {"type": type_name, "code": code, "reason_code": reason,
                                                  "message": f"m {code}"}})
    assert type(exc) is cls
    assert str(exc) == f"m {code}" and exc.code == code and exc.status == status
    if reason:
        assert exc.reason_code == "why"


def test_mapper_refuses_foreign_types_and_bad_bodies():
    exc = error_from_envelope(500, {"error": {"type": "SystemExit", "code": "internal", "message": "x"}})
    assert type(exc) is AgentKernelError  # never instantiates a class the reference does not raise
    exc = error_from_envelope(502, "<html>bad gateway</html>")
    assert type(exc) is AgentKernelError and exc.code == "bad_response" and exc.status == 502
