"""Records HandleStore.expand outcomes from weaver_kernel 0.12.0 for the Swift tests.

Each case stores `data` with `principal_id`/`constraints`, then expands with
`query`/`caller`; the frame's table_preview and warnings, or the error class, message
and reason_code, are recorded. Run: /tmp/refvenv/bin/python tools/reference/handle_fixtures.py
"""
import json
from weaver_kernel.handles import HandleStore

rows = [
    {"id": i, "region": "eu" if i % 2 else "us", "amount": i * 1.5, "email": "u%d@x.io" % i,
     "note": "Bearer tok%d" % i if i == 3 else "ok", "nested": {"a": {"b": {"c": i}}}}
    for i in range(8)
]
cases = [
    ("", {}, {}, ""),
    ("", {}, {"offset": 2, "limit": 3}, ""),
    ("alice", {}, {}, "bob"),
    ("alice", {}, {}, ""),
    ("alice", {}, {"limit": 1}, "alice"),
    ("", {}, {"filter": [1]}, ""),
    ("", {}, {"filter": "x"}, ""),
    ("", {}, {"fields": "id"}, ""),
    ("", {}, {"fields": {"a": 1}}, ""),
    ("", {"allowed_fields": ["id", "region"]}, {"fields": ["id", "zeta", "amount"]}, ""),
    ("", {"allowed_fields": ["id", "region"]}, {}, ""),
    ("", {"allowed_fields": ["id", "region"]}, {"fields": ["region"]}, ""),
    ("", {"scope": {"region": "eu"}}, {"filter": {"region": "us"}}, ""),
    ("", {"scope": {"region": "eu"}}, {}, ""),
    ("", {"scope": {"region": "eu"}}, {"filter": {"region": "eu", "id": 3}}, ""),
    ("", {"scope": {"id": 1}}, {"filter": {"id": True}}, ""),
    ("", {"scope": {"id": 1}}, {"filter": {"id": 1.0}}, ""),
    ("", {}, {"filter": {"missing": None}, "limit": 2}, ""),
    ("", {}, {"offset": "abc"}, ""),
    ("", {}, {"offset": None}, ""),
    ("", {}, {"offset": -1}, ""),
    ("", {}, {"offset": "2", "limit": "2"}, ""),
    ("", {}, {"offset": 1.9, "limit": True}, ""),
    ("", {}, {"limit": -3}, ""),
    ("", {}, {"limit": [2]}, ""),
    ("", {}, {"limit": None}, ""),
    ("", {"max_rows": 2}, {"limit": 3}, ""),
    ("", {"max_rows": 2}, {}, ""),
    ("", {"max_rows": True}, {"limit": 2}, ""),
    ("", {"max_rows": "2"}, {"limit": 5}, ""),
    ("", {"max_rows": -1}, {"limit": 5}, ""),
    ("", {"max_rows": 0}, {}, ""),
    ("", {}, {"offset": 100}, ""),
    ("", {"allowed_fields": "idx"}, {"fields": ["id", "q"]}, ""),
    ("", {"allowed_fields": "idx"}, {}, ""),
    ("", {"allowed_fields": {"id": 1}}, {"fields": ["id", "zz"]}, ""),
    ("", {"allowed_fields": 5}, {"fields": ["id"]}, ""),
    ("", {"allowed_fields": ["b", "a"]}, {"fields": [2, 1]}, ""),
    ("", {"scope": ["x"]}, {}, ""),
    ("", {"scope": {}}, {"filter": {}}, ""),
    ("alice", {"scope": {"region": "eu"}}, {"filter": 3}, "bob"),
    ("", {"allowed_fields": ["id"], "scope": {"region": "eu"}}, {"fields": ["x"], "filter": {"region": "us"}}, ""),
    ("", {"scope": {"region": "eu"}}, {"filter": {"region": "us"}, "offset": "bad"}, ""),
]
datasets = {"rows": rows, "scalar": "call 555-123-4567", "object": {"id": 1, "password": "p"}, "mixed": [1, {"a": 1}, "x"]}
extra = [("scalar", "", {}, {}, ""), ("object", "", {}, {}, ""), ("mixed", "", {}, {}, ""), ("mixed", "", {}, {"filter": {"a": 1}}, "")]
out = []
def run(name, data, pid, cons, query, caller):
    store = HandleStore()
    h = store.store("cap.rows", data, principal_id=pid, constraints=cons)
    try:
        f = store.expand(h, query=query, action_id="act-9", principal_id=caller, max_depth=3)
        res = {"table": f.table_preview, "warnings": f.warnings, "mode": f.response_mode}
    except Exception as e:
        res = {"error": type(e).__name__, "message": str(e).replace(h.handle_id, "{HID}"),
               "reason_code": getattr(e, "reason_code", None)}
    out.append({"dataset": name, "principal": pid, "constraints": cons, "query": query, "caller": caller, "result": res})
for pid, cons, query, caller in cases:
    run("rows", rows, pid, cons, query, caller)
for name, pid, cons, query, caller in extra:
    run(name, datasets[name], pid, cons, query, caller)
print(json.dumps({"datasets": datasets, "cases": out}, ensure_ascii=True, indent=0))
