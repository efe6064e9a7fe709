"""Every verb the wire serves, through RemoteKernel.connect, returning the reference's models."""

from __future__ import annotations

import asyncio
import datetime
import types

import pytest
from weaver_kernel import (
    ActionTrace,
    Capability,
    CapabilityGrant,
    CapabilityRequest,
    CapabilityToken,
    DenialExplanation,
    DryRunResult,
    Frame,
    Handle,
    Principal,
    SafetyClass,
    SensitivityTag,
    StatsSnapshot,
    TraceQuery,
)
from weaver_kernel.models import PolicyDecision, PolicyDecisionTrace, Provenance

ALICE = Principal("alice", ["reader"], {"tenant": "acme"})


@pytest.fixture(scope="module")
def alice(deployment):
    k = deployment.kernel("alice")
    yield k
    k.close()


def _grant(k, goal: str, principal=ALICE, justification: str = "unit test of the python client"):
    req = k.request_capabilities(goal)[0]
    return k.grant_capability(req, principal, justification=justification)


def test_list_capabilities_are_reference_capabilities(alice):
    caps = alice.list_capabilities()
    assert [c.capability_id for c in caps] == [
        "billing.list_invoices", "billing.summarize_spend", "tasks.create", "tasks.purge"]
    first = caps[0]
    assert isinstance(first, Capability)
    assert first.safety_class is SafetyClass.READ
    assert first.sensitivity is SensitivityTag.PII
    assert first.allowed_fields == ["id", "amount", "currency", "status", "date"]
    assert first.parameters_model is None


def test_request_capabilities(alice):
    reqs = alice.request_capabilities("summarize spend", context_tags={"ignored": "yes"})
    assert reqs and isinstance(reqs[0], CapabilityRequest)
    assert reqs[0].capability_id == "billing.summarize_spend"
    assert reqs[0].goal == "summarize spend"


def test_grant_capability_and_get_token(alice):
    grant = _grant(alice, "list invoices")
    assert isinstance(grant, CapabilityGrant)
    assert isinstance(grant.decision, PolicyDecision) and grant.decision.allowed
    assert isinstance(grant.decision.trace, PolicyDecisionTrace)
    assert isinstance(grant.token, CapabilityToken)
    assert isinstance(grant.token.expires_at, datetime.datetime)
    assert grant.token.expires_at.tzinfo is not None
    assert grant.principal == ALICE
    assert grant.audit_id == grant.token.audit_id
    token = alice.get_token(grant.request, ALICE, justification="again")
    assert isinstance(token, CapabilityToken) and token.token_id != grant.token.token_id


def test_invoke_frame_and_dry_run(alice):
    grant = _grant(alice, "list invoices")
    frame = asyncio.run(alice.invoke(grant.token, principal=ALICE, args={"operation": "list_invoices"},
                                     response_mode="table"))
    assert isinstance(frame, Frame) and frame.is_final
    assert frame.response_mode == "table"
    assert frame.table_preview and set(frame.table_preview[0]) <= {"id", "amount", "currency", "status", "date"}
    assert isinstance(frame.handle, Handle) and frame.handle.total_rows == 200
    assert isinstance(frame.provenance, Provenance)
    dry = asyncio.run(alice.invoke(grant.token, principal=ALICE, args={"operation": "list_invoices"}, dry_run=True))
    assert isinstance(dry, DryRunResult)
    assert dry.driver_id == "billing" and dry.policy_decision.allowed


def test_invoke_stream_yields_final_frame(alice):
    grant = _grant(alice, "summarize spend")

    async def collect():
        return [f async for f in alice.invoke_stream(grant.token, principal=ALICE,
                                                     args={"operation": "summarize_spend"})]

    frames = asyncio.run(collect())
    assert frames and all(isinstance(f, Frame) for f in frames)
    assert frames[-1].is_final
    assert frames[-1].capability_id == "billing.summarize_spend"


def test_expand_explain_and_traces(alice, deployment):
    grant = _grant(alice, "list invoices")
    frame = asyncio.run(alice.invoke(grant.token, principal=ALICE, args={"operation": "list_invoices"}))
    page = alice.expand(frame.handle, query={"offset": 2, "limit": 3, "fields": ["id"]}, principal=ALICE)
    assert isinstance(page, Frame) and page.response_mode == "table"
    assert [set(r) for r in page.table_preview] == [{"id"}] * 3
    trace = alice.explain(frame.action_id)
    assert isinstance(trace, ActionTrace)
    assert trace.principal_id == "alice" and trace.capability_id == "billing.list_invoices"
    assert isinstance(trace.invoked_at, datetime.datetime)
    mine = alice.query_traces(TraceQuery(capability_id="billing.list_invoices"))
    assert frame.action_id in {t.action_id for t in mine}
    assert all(t.principal_id == "alice" for t in alice.list_traces())
    # the auditor reads everyone's traces, the same records
    with deployment.kernel("auditor") as auditor:
        assert auditor.explain(frame.action_id).action_id == frame.action_id
        assert len(auditor.query_traces(TraceQuery(principal_id="alice", limit=2))) == 2
        assert auditor._trace_store.get(frame.action_id).action_id == frame.action_id


def test_explain_denial(alice):
    req = CapabilityRequest(capability_id="tasks.purge", goal="purge")
    why = alice.explain_denial(req, ALICE)
    assert isinstance(why, DenialExplanation)
    assert why.denied and why.failed_conditions


def test_stats_is_a_property_snapshot(alice):
    before = alice.stats
    assert isinstance(before, StatsSnapshot)
    _grant(alice, "summarize spend")
    after = alice.stats
    assert after.grants == before.grants + 1
    assert isinstance(after.denials_by_reason, types.MappingProxyType)


def test_revoke_and_revoke_all(deployment, alice):
    from weaver_kernel import TokenRevoked

    grant = _grant(alice, "summarize spend")
    with deployment.kernel("ops") as ops:
        assert ops.revoke(grant.token.token_id) is None
        with pytest.raises(TokenRevoked):
            asyncio.run(alice.invoke(grant.token, principal=ALICE, args={}))
        other = _grant(alice, "summarize spend")
        assert ops.revoke_all("alice") >= 1
        with pytest.raises(TokenRevoked):
            asyncio.run(alice.invoke(other.token, principal=ALICE, args={}))


def test_unserved_methods_say_so(alice):
    with pytest.raises(NotImplementedError, match="reset_stats"):
        alice.reset_stats()
    with pytest.raises(NotImplementedError, match="register_driver"):
        alice.register_driver(object())
    with pytest.raises(NotImplementedError, match="advertise"):
        alice.advertise(endpoint="x")


def test_kill_switches_and_status(fresh_deployment):
    """The capgate-only admin methods: a paused principal is refused (PolicyDenied with the
    stable code) on its already-open client until resumed; status reports the pause."""
    from weaver_kernel import AgentKernelError, PolicyDenied

    alice = fresh_deployment.kernel("alice")
    ops = fresh_deployment.kernel("ops")
    try:
        grant = _grant(alice, "list invoices")
        args = {"operation": "list_invoices"}
        with pytest.raises(AgentKernelError) as forbidden:
            alice.pause_all()
        assert forbidden.value.code == "forbidden"
        paused = ops.pause_principal("alice", reason="python client test")
        assert [p["id"] for p in paused["principals"]] == ["alice"]
        with pytest.raises(PolicyDenied) as refused:
            asyncio.run(alice.invoke(grant.token, principal=ALICE, args=args))
        assert refused.value.code == "principal_paused" and refused.value.status == 403
        assert refused.value.reason_code == "principal_paused"
        status = ops.status()
        assert status["paused"]["principals"][0]["reason"] == "python client test"
        assert status["store"]["healthy"] is True
        assert ops.resume_principal("alice")["principals"] == []
        asyncio.run(alice.invoke(grant.token, principal=ALICE, args=args))
        cap = grant.token.capability_id
        assert [c["id"] for c in ops.pause_capability(cap)["capabilities"]] == [cap]
        with pytest.raises(PolicyDenied) as refused:
            asyncio.run(alice.invoke(grant.token, principal=ALICE, args=args))
        assert refused.value.code == "capability_paused"
        ops.resume_capability(cap)
        assert ops.pause_all(reason="maintenance")["all"]["reason"] == "maintenance"
        with pytest.raises(PolicyDenied) as refused:
            alice.list_capabilities()
        assert refused.value.code == "gateway_paused" and refused.value.status == 503
        assert ops.resume_all()["all"] is None
        assert ops.list_paused() == {"all": None, "capabilities": [], "principals": []}
        assert len(alice.list_capabilities()) > 0
    finally:
        alice.close()
        ops.close()
