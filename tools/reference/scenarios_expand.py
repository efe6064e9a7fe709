"""Handle expansion: paging, projection, filters, grant bounds, errors (spec 3.7, 9)."""

from __future__ import annotations

from fixtures import (
    READER, ROWS, STATS, WRITER, expand, fixture_setup, grant, invoke, scenario,
)

BOUNDED = {"max_rows": 5, "allowed_fields": ["id", "name", "status", "region", "active"]}
H = "$f.handle"


def ex(query: dict, who: dict | None = READER, handle: str = H) -> dict:
    return expand(handle, query, who)


SHAPES = {
    "records.list": ROWS,
    "scalars": [1, "two", None, [3], {"k": "v"}],
    "single": {"id": 9, "email": "a@b.co", "note": "call 555-123-4567"},
    "nested": [{"id": 1, "deep": {"a": {"b": {"c": 1}}}, "tags": ["x", ["y"]]}],
    "empty": [],
    "text": "just a string",
}

CANARY_ROWS = [
    {"id": 1, "name": "Alice", "note": "call token Bearer canary-zzz-9999-do-not-leak-token"},
    {"id": 2, "name": "Bob", "note": "db postgresql://canary:zzz-secret-pw@db.invalid/main"},
]

SCENARIOS = [
    scenario("expand_paging_projection", "offset/limit/fields/filter within the grant bounds",
             fixture_setup(), [
                 grant("records.list", READER, constraints=BOUNDED, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 ex({}), ex({"offset": 2, "limit": 2}), ex({"fields": ["id", "status"]}),
                 ex({"fields": ["status", "id"]}),
                 ex({"filter": {"status": "open"}}),
                 ex({"filter": {"status": "open"}, "offset": 1, "limit": "2"}),
                 ex({"limit": "5"}), ex({"limit": None}), ex({"limit": 0}), ex({"offset": 7}),
                 ex({"offset": "1", "limit": 1.9}), ex({"offset": True, "limit": " 3 "}),
                 ex({"fields": []}), ex({"filter": {}}), ex({"unknown": 1}),
                 STATS,
             ]),
    scenario("expand_filter_equality", "filter uses Python ==: 1 == 1.0, True == 1, '1' != 1",
             fixture_setup(), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "handle_only", save="f"),
                 ex({"filter": {"id": 1.0}}), ex({"filter": {"active": 1}}),
                 ex({"filter": {"id": "1"}}), ex({"filter": {"id": True}}),
                 ex({"filter": {"score": 40.5, "region": "us"}}),
                 ex({"filter": {"missing": None}}), ex({"filter": {"active": 0.0}}),
             ]),
    scenario("expand_violations", "every HandleConstraintViolation and its reason_code",
             fixture_setup(), [
                 grant("records.list", READER, constraints=BOUNDED, save="g"),
                 invoke("$g.token", READER, "summary", save="f"),
                 ex({"limit": 6}), ex({"fields": ["id", "score"]}),
                 ex({"fields": ["zeta", "score", "id"]}),
                 ex({"offset": -1}), ex({"limit": "x"}), ex({"limit": -1}), ex({"offset": None}),
                 ex({"offset": "1.5"}), ex({"limit": [1]}),
                 ex({"filter": "status=open"}), ex({"filter": ["status"]}),
                 ex({"fields": "id"}), ex({"fields": {"id": 1}}),
                 ex({"filter": "x", "limit": 99, "fields": ["nope"]}, who=WRITER),
                 ex({}, who=WRITER), ex({}, who=None),
                 ex({"filter": 5, "offset": -1}),
                 STATS,
             ]),
    scenario("expand_scope_forcing", "granted scope is forced into the filter; conflicts rejected",
             fixture_setup(), [
                 grant("records.list", READER, constraints={"scope": {"region": "eu"}}, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 ex({}), ex({"filter": {"region": "eu", "status": "open"}}),
                 ex({"filter": {"region": "us"}}), ex({"filter": {"status": "closed"}}),
                 ex({"limit": 2, "fields": ["id", "region"]}),
             ]),
    scenario("expand_not_found", "unknown handle id -> HandleNotFound (only handle_id is used)",
             fixture_setup(), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 {"op": "patch", "value": H,
                  "set": {"handle_id": "00000000-0000-4000-8000-000000000000"}, "save": "h2"},
                 ex({}, handle="$h2"),
                 {"op": "patch", "value": H, "set": {"handle_id": "not-a-uuid"}, "save": "h3"},
                 ex({}, handle="$h3"),
                 STATS,
             ]),
    scenario("expand_expired", "HandleExpired once the TTL elapses, then the entry is gone",
             fixture_setup(handles={"default_ttl_seconds": 0.01}), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 {"op": "sleep", "seconds": 0.05},
                 ex({}), ex({}), STATS,
             ]),
    scenario("expand_zero_ttl", "default_ttl_seconds 0: expires_at == created_at, expired at once",
             fixture_setup(handles={"default_ttl_seconds": 0}), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "summary", save="f"),
                 ex({"limit": 1}),
             ]),
    scenario("expand_shapes", "non-list data, scalar rows, nested redaction, empty data",
             fixture_setup(data=None) | {"drivers": [{"type": "static", "driver_id": "fixture",
                                                      "operations": SHAPES}]}, [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", {"operation": "scalars"}, save="f"),
                 ex({}), ex({"fields": ["k"]}), ex({"filter": {"k": "v"}}),
                 invoke("$g.token", READER, "table", {"operation": "single"}, save="f2"),
                 ex({}, handle="$f2.handle"), ex({"fields": ["note"]}, handle="$f2.handle"),
                 invoke("$g.token", READER, "table", {"operation": "nested"}, save="f3"),
                 ex({}, handle="$f3.handle"),
                 invoke("$g.token", READER, "table", {"operation": "empty"}, save="f4"),
                 ex({}, handle="$f4.handle"),
                 invoke("$g.token", READER, "table", {"operation": "text"}, save="f5"),
                 ex({}, handle="$f5.handle"),
             ]),
    scenario("expand_trace", "expand writes an 'expand' trace with the redacted query",
             fixture_setup(), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "table", save="f"),
                 expand(H, {"filter": {"name": "bob@example.com"}, "limit": 1,
                            "fields": ["id", "name"]}, READER, save="e"),
                 {"op": "explain", "action_id": "$e.action_id"},
                 {"op": "query_traces", "query": {"event_type": "expand"}},
                 STATS,
             ]),
    scenario("canary_expand", "canaries in handle rows never leave via expand (spec 11.2 #3/#4)",
             fixture_setup(data=CANARY_ROWS), [
                 grant("records.list", READER, save="g"),
                 invoke("$g.token", READER, "handle_only", save="f"),
                 ex({}), ex({"fields": ["id", "note"]}),
             ]),
]
