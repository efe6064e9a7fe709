"""Tokens (canonical JSON, HMAC, verify order, revocation) and traces (spec 4, 10)."""

from __future__ import annotations

from fixtures import (
    ADMIN, NO_TENANT, READER, STATS, TRACES, WRITER, expand, fixture_setup, grant, invoke,
    scenario,
)

FIXED = {
    "token_id": "11111111-2222-4333-8444-555555555555",
    "capability_id": "cap.x",
    "principal_id": "alice",
    "issued_at": "2026-01-02T03:04:05+00:00",
    "expires_at": "2026-01-02T04:04:05.123456+00:00",
    "constraints": {"max_rows": 5, "allowed_fields": ["id", "name"]},
    "audit_id": "aud-1",
}

UNICODE_CONSTRAINTS = {
    "text": "é😀\u007f/\"\\\n\t\b\f\r\u0000\u001f\u2028 ~",
    "floats": [1.0, 0.1, 1e-05, 1e16, 1e22, -0.0, 1.5e300, 123456789.125, 2.5e-7, 100.0],
    "ints": [0, -1, 9223372036854775807, -9223372036854775808, 9007199254740993],
    "nested": {"b": {"z": 1, "a": 2}, "a": [], "B": None, "é": 1, "😀": 2, "\u007f": 3,
               "Z": {"y": [{"b": 1, "a": 0}]}},
    "flags": [True, False],
    "empty": {},
    "": "empty key",
}


def sign(secret: str = "capgate-parity-secret", **changes: object) -> dict:
    return {"op": "sign_fields", "fields": {**FIXED, **changes}, "secret": secret}


def verify(token: str, pid: str = "u-reader", cid: str = "records.list") -> dict:
    return {"op": "verify_token", "token": token, "expected_principal_id": pid,
            "expected_capability_id": cid}


def issue(cid: str = "records.list", pid: str = "u-reader", ttl: int = 3600,
          save: str | None = None, **kw: object) -> dict:
    step = {"op": "issue_token", "capability_id": cid, "principal_id": pid,
            "constraints": kw.get("constraints", {}), "ttl_seconds": ttl,
            "audit_id": kw.get("audit_id", "")}
    if save:
        step["save"] = save
    return step


def tamper(token: str, save: str, **fields: object) -> dict:
    return {"op": "tamper_token", "token": token, "set": fields, "save": save}


ZERO_SIG = "0" * 64

SCENARIOS = [
    scenario("token_sign_fields_ascii", "canonical payload and HMAC for fixed ASCII fields",
             {}, [sign(), sign(secret="another secret"), sign(secret="é-secret-ünï"),
                  sign(constraints={}), sign(audit_id=""),
                  sign(issued_at="2026-01-02T03:04:05.000001+00:00"),
                  sign(issued_at="2026-01-02T03:04:05.100000+00:00"),
                  sign(issued_at="2026-01-02T03:04:05Z"),
                  sign(issued_at="2026-01-02T08:34:05+05:30"),
                  sign(expires_at="2026-01-02T04:04:05.5+00:00")]),
    scenario("token_sign_fields_unicode", "ensure_ascii escapes, float repr, big ints, key order",
             {}, [sign(constraints=UNICODE_CONSTRAINTS),
                  sign(principal_id="ålice/😀", capability_id="cap.\u00e9", audit_id="a\"b"),
                  sign(constraints={"a": 1.0}), sign(constraints={"a": 1}),
                  sign(constraints={"a": True}), sign(constraints={"a": None})]),
    scenario("token_verify_order", "revoked > expired > invalid signature > principal > capability",
             fixture_setup(), [
                 issue(ttl=-1, save="expired"),
                 tamper("$expired", "expired_bad", signature=ZERO_SIG),
                 {"op": "revoke", "token_id": "$expired.token_id"},
                 verify("$expired_bad", pid="mallory", cid="other.cap"),
                 issue(save="live"),
                 tamper("$live", "live_bad", signature=ZERO_SIG),
                 tamper("$live", "live_expired_bad", signature=ZERO_SIG,
                        expires_at="2000-01-01T00:00:00+00:00"),
                 verify("$live_expired_bad", pid="mallory"),
                 verify("$live_bad", pid="mallory", cid="other.cap"),
                 verify("$live", pid="mallory", cid="other.cap"),
                 verify("$live", cid="other.cap"),
                 verify("$live"),
                 tamper("$live", "nosig", signature=""),
                 verify("$nosig"),
             ]),
    scenario("token_tamper", "any change to a signed field -> TokenInvalid on invoke",
             fixture_setup(), [
                 grant("records.list", READER, constraints={"allowed_fields": ["id"]}, save="g"),
                 tamper("$g.token", "t1", constraints={"allowed_fields": ["id", "name"],
                                                      "max_rows": 50}),
                 invoke("$t1", READER, "table"),
                 tamper("$g.token", "t2", expires_at="2099-01-01T00:00:00+00:00"),
                 invoke("$t2", READER, "table"),
                 tamper("$g.token", "t3", principal_id="u-writer"),
                 invoke("$t3", WRITER, "table"),
                 tamper("$g.token", "t4", audit_id=""),
                 invoke("$t4", READER, "table"),
                 tamper("$g.token", "t5", capability_id="records.update"),
                 invoke("$t5", READER, "table"),
                 {"op": "patch", "value": "$g.token", "set": {}, "save": "t6"},
                 invoke("$t6", READER, "table"),
                 TRACES, STATS,
             ]),
    scenario("token_revoke_all", "revoke_all counts only tracked, not-yet-revoked tokens",
             fixture_setup(), [
                 issue(pid="alice", save="a1"), issue(pid="alice", save="a2"),
                 issue(pid="alice", cid="records.update", save="a3"), issue(pid="bob", save="b1"),
                 {"op": "revoke", "token_id": "$a1.token_id"},
                 {"op": "revoke_all", "principal_id": "alice"},
                 {"op": "revoke_all", "principal_id": "alice"},
                 {"op": "revoke_all", "principal_id": "nobody"},
                 {"op": "revoke", "token_id": "never-issued"},
                 verify("$a2", pid="alice"), verify("$b1", pid="bob"),
                 issue(pid="alice", save="a4"), verify("$a4", pid="alice"),
                 {"op": "revoke_all", "principal_id": "alice"},
                 verify("$a4", pid="alice"),
             ]),
    scenario("token_expired_invoke", "ttl_seconds -1 -> TokenExpired on invoke and dry run; "
             "revoked and cross-principal tokens at invoke",
             fixture_setup(), [
                 issue(ttl=-1, save="t", constraints={"max_rows": 2}),
                 invoke("$t", READER, "table"),
                 invoke("$t", READER, "table", dry_run=True),
                 issue(ttl=0, save="t0"),
                 invoke("$t0", READER, "table", dry_run=True),
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", WRITER, "table"),
                 {"op": "revoke", "token_id": "$g.token.token_id"},
                 invoke("$g.token", READER, "table"),
                 invoke("$g.token", READER, "table", dry_run=True),
                 issue(pid="u-reader", cid="records.ghost", save="tg"),
                 invoke("$tg", READER, "table"),
                 TRACES, STATS,
             ]),
    scenario("token_direct_issue", "issue_token constraints are signed as given (no policy)",
             fixture_setup(), [
                 issue(save="t", constraints={"max_rows": 1, "allowed_fields": ["name"]},
                       audit_id="audit-x"),
                 invoke("$t", READER, "table"),
                 issue(save="t2", constraints={"max_rows": "abc"}),
                 invoke("$t2", READER, "table"),
                 invoke("$t2", READER, "handle_only"),
                 TRACES, STATS,
             ]),
    scenario("trace_deny_fields", "deny trace: NONE sensitivity, empty token/driver, redacted error",
             fixture_setup(capabilities=fixture_setup()["capabilities"] + [
                 {"capability_id": "crm.pii", "name": "PII", "description": "PII data.",
                  "safety_class": "READ", "sensitivity": "PII", "allowed_fields": [], "tags": [],
                  "impl": None, "parameters_schema": None, "tool_hints": None}]), [
                 grant("crm.pii", NO_TENANT),
                 grant("records.update", {"principal_id": "bob@example.com", "roles": ["reader"],
                                          "attributes": {}}),
                 TRACES,
                 {"op": "query_traces", "query": {"event_type": "deny"}},
             ]),
    scenario("trace_query_filters", "query_traces filters, ordering, paging and validation",
             fixture_setup(), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 grant("records.update", READER),
                 grant("records.update", WRITER, save="gw"),
                 invoke("$gw.token", WRITER, "summary", {"operation": "nope"}),
                 expand("$f.handle", {"limit": 1}, READER),
                 grant("records.drop", WRITER),
                 {"op": "query_traces", "query": {}},
                 {"op": "query_traces", "query": {"principal_id": "u-reader"}},
                 {"op": "query_traces", "query": {"capability_id": "records.update"}},
                 {"op": "query_traces", "query": {"event_type": "invoke"}},
                 {"op": "query_traces", "query": {"event_type": "expand"}},
                 {"op": "query_traces", "query": {"outcome": "succeeded"}},
                 {"op": "query_traces", "query": {"outcome": "failed"}},
                 {"op": "query_traces", "query": {"reason_code": "missing_role"}},
                 {"op": "query_traces", "query": {"principal_id": "u-writer", "outcome": "failed"}},
                 {"op": "query_traces", "query": {"limit": 2}},
                 {"op": "query_traces", "query": {"limit": 2, "offset": 2}},
                 {"op": "query_traces", "query": {"offset": 10}},
                 {"op": "query_traces", "query": {"limit": 0}},
                 {"op": "query_traces", "query": {"offset": -1}},
                 {"op": "query_traces", "query": {"limit": -1}},
                 {"op": "query_traces", "query": {"since": "2000-01-01T00:00:00+00:00",
                                                  "until": "2000-01-02T00:00:00"}},
                 {"op": "query_traces", "query": {"since": "2999-01-01T00:00:00",
                                                  "event_type": "deny"}},
                 {"op": "query_traces", "query": {"until": "2999-01-01T00:00:00+00:00",
                                                  "event_type": "deny"}},
             ]),
    scenario("trace_explain_unknown", "explain of an unknown action id -> AgentKernelError",
             fixture_setup(), [{"op": "explain", "action_id": "no-such-action"},
                               {"op": "explain", "action_id": ""}, TRACES]),
    scenario("canary_invoke", "spec 11.2 canaries never leave via frames or traces",
             fixture_setup(data=[
                 {"id": 1, "secret_note": "api_key=ZZZZ_CANARYKEY_ABCDEF12345",
                  "auth": "Bearer canary-zzz-9999-do-not-leak-token",
                  "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Qk9HVVNfQ0FOQVJZX1NJRw",
                  "conn": "db postgresql://canary:zzz-secret-pw@db.invalid/main",
                  "contact": "canary.victim@example.invalid"}],
                 drivers=[{"type": "static", "driver_id": "fixture", "operations": {
                     "records.list": [
                         {"id": 1, "secret_note": "api_key=ZZZZ_CANARYKEY_ABCDEF12345",
                          "auth": "Bearer canary-zzz-9999-do-not-leak-token",
                          "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Qk9HVVNfQ0FOQVJZX1NJRw",
                          "conn": "db postgresql://canary:zzz-secret-pw@db.invalid/main",
                          "contact": "canary.victim@example.invalid"}]}},
                     {"type": "failing", "driver_id": "bad", "exception": "DriverError",
                      "message": "upstream rejected token Bearer canary-zzz-9999-do-not-leak-token",
                      "operations": ["records.update"]}],
                 routes={"records.list": ["fixture"], "records.update": ["bad"]}), [
                 grant("records.list", ADMIN, save="g"),
                 invoke("$g.token", ADMIN, "summary"),
                 invoke("$g.token", ADMIN, "table"),
                 invoke("$g.token", ADMIN, "raw"),
                 grant("records.update", ADMIN, "canary regression coverage", save="gu"),
                 invoke("$gu.token", ADMIN, "summary",
                        {"reference": "authorize Bearer canary-zzz-9999-do-not-leak-token",
                         "amount": 42}),
                 TRACES,
             ]),
]
