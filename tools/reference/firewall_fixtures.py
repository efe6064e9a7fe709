import json, datetime
from weaver_kernel.firewall.redaction import redact
from weaver_kernel.firewall.summarize import summarize
from weaver_kernel.firewall.size_estimate import estimated_size
from weaver_kernel.firewall.token_counting import default_token_counter
from weaver_kernel.firewall import Firewall
from weaver_kernel.firewall.budgets import Budgets
from weaver_kernel.models import RawResult
def J(v): return json.dumps(v, ensure_ascii=True)
out = {"redact": [], "summarize": [], "size": [], "transform": []}
red_cases = [
  ({"email": "a@b.co", "Name": "Bob", "PASSWORD": 5, "user_email": "x@y.io", "secret_note": "ok", "nested": {"ssn": "1", "deep": {"deeper": {"x": 1}, "s": "call 555-123-4567"}}}, None, 3),
  ([{"id": 1, "email": "e", "card_number": "4111", "amount": 2.5, "note": "Bearer abc"}, {"id": 2, "extra": [1, 2]}], ["id", "amount", "note"], 3),
  ({"a": {"b": {"c": {"d": 1}}}, "l": [[["x@y.co"]]], "s": "x@y.co"}, ["a", "s"], 3),
  ([[[["deep"]]]], None, 3),
  ({"k": [1, {"x": "y"}], "t": True, "n": None}, None, 1),
  ("token eyJa.eyJb.c", None, 3),
  ({"a": "x"}, None, 0),
  ([{"Email": "x", "cvv": None, "Credit_Card": [1]}], [], 3),
  ({"\u0130d": 1, "pa\u017f\u017fword": "z", "caf\u00e9": "a@b.cd"}, None, 3),
]
for data, af, md in red_cases:
    r, w = redact(data, allowed_fields=af, max_depth=md)
    out["redact"].append({"data": data, "allowed": af, "max_depth": md, "out": r, "warnings": w})
billing = []
import random
rnd = random.Random(7)
for i in range(60):
    billing.append({"id": i, "amount": round(rnd.uniform(1, 5000), 2), "currency": rnd.choice(["EUR","GBP","USD"]), "status": rnd.choice(["paid","unpaid","overdue"]), "active": rnd.choice([True, False]), "qty": rnd.randint(1, 9)})
sum_cases = [
  billing,
  [{"a": 1, "b": "x"}, {"a": 2.5, "b": "y", "c": None}, {"a": True, "c": "z"}],
  [{"k%d" % j: j for j in range(12)} for _ in range(3)],
  [{"n": None}, {"n": 1}],
  [{"s": "b"}, {"s": "a"}, {"s": "\u00e9"}, {"s": "Z"}, {"s": "a"}],
  [{"s": str(i)} for i in range(11)],
  [{"x": 1}, {"y": 2}, {"y": 3}, {"z": "q"}, {"z": "r"}],
  {"b": 1, "a": 2.0, "c": True, "d": "x" * 100, "e": [1, 2], "f": {"g": 1, "h": 2, "i": 3, "j": 4, "k": 5, "l": 6}, "n": None},
  {"k%02d" % i: i for i in range(25)},
  [1, "two", 3.5, None, [1], {"a": 1}],
  list(range(30)),
  [],
  "short",
  "y" * 600,
  "\u00e9" * 501,
  42, None, True, 3.0, 1e20, 1.5e-7,
  {},
  [{"a": 1}, "b"],
  [{"a": 1}, None],
  [{"a": 1}, [1, 2]],
  [{"a": "u"}, {"a": "v"}, "a"],
  [{}] * 11 + [5],
  [{"v": -0.0}, {"v": 0.0}],
  [{"v": 0.125}, {"v": 0.375}],
  [{"v": 2.675}, {"v": 1.005}],
]
for c in sum_cases:
    try: facts = summarize(c)
    except Exception as e: facts = {"error": type(e).__name__, "message": str(e)}
    small = None
    try: small = summarize(c, max_facts=3)
    except Exception as e: small = {"error": type(e).__name__, "message": str(e)}
    out["summarize"].append({"data": c, "facts": facts, "facts3": small})
for c in [None, True, False, "h\u00e9", 12, -3, 2.5, 1e20, [], {}, [1, [2, {"a": None}]], {"k\u00e9y": "v", "n": [True]}]:
    out["size"].append({"data": c, "size": estimated_size(c), "limited": estimated_size(c, limit=3), "tokens": default_token_counter(c)})
fw = Firewall()
fw_small = Firewall(Budgets(max_rows=50, max_fields=2, max_chars=60, max_depth=3))
rows = [{"id": i, "email": "u%d@x.io" % i, "note": "call 555-123-4567" if i == 1 else "n", "a": i, "b": i * 2} for i in range(5)]
tcases = [
  (fw, rows, "summary", {}, ["reader"]),
  (fw, rows, "table", {"max_rows": 2}, []),
  (fw, rows, "table", {"max_rows": "3"}, []),
  (fw, rows, "table", {"max_rows": -2}, []),
  (fw, rows, "table", {"max_rows": 2.9}, []),
  (fw, rows, "table", {"max_rows": True}, []),
  (fw, rows, "table", {"max_rows": "abc"}, []),
  (fw, rows, "summary", {"max_rows": None}, []),
  (fw, rows, "handle_only", {"max_rows": [1]}, []),
  (fw, rows, "table", {"allowed_fields": ["id", "a"]}, []),
  (fw, rows, "table", {"allowed_fields": "ab"}, []),
  (fw, rows, "table", {"allowed_fields": [1]}, []),
  (fw, rows, "table", {"allowed_fields": None}, []),
  (fw, rows, "raw", {}, ["admin"]),
  (fw, rows, "raw", {}, ["reader"]),
  (fw, rows, "handle_only", {}, []),
  (fw, rows, "bogus", {}, []),
  (fw_small, rows, "table", {}, []),
  (fw_small, rows, "summary", {}, []),
  (fw_small, rows, "raw", {}, ["admin"]),
  (fw, {"x": 1, "email": "q"}, "table", {}, []),
  (fw, "a@b.co", "table", {}, []),
  (fw, [1, "x", None], "table", {}, []),
  (fw, [], "summary", {}, []),
  (fw, [[[{"k": 1}]]], "table", {}, []),
]
for f, data, mode, cons, roles in tcases:
    try:
        fr = f.transform(RawResult(capability_id="cap.x", data=data), action_id="act-1", principal_id="p1",
                         principal_roles=roles, response_mode=mode, constraints=cons, handle=None)
        res = {"mode": fr.response_mode, "facts": fr.facts, "table": fr.table_preview, "warnings": fr.warnings, "raw": fr.raw_data}
    except Exception as e:
        res = {"error": type(e).__name__, "message": str(e)}
    b = f.budgets
    out["transform"].append({"budgets": [b.max_rows, b.max_fields, b.max_chars, b.max_depth], "data": data, "mode": mode, "constraints": cons, "roles": roles, "result": res})
print(json.dumps(out, ensure_ascii=True, indent=0))
