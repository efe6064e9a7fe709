"""Generates policy parity fixtures by running the reference (weaver-kernel 0.12.0).

Run: /tmp/refvenv/bin/python Tests/Fixtures/policy/gen_policy_fixtures.py
Writes default_policy_cases.json and dsl_policy_cases.json next to this file. Each case holds
the inputs and the reference's evaluate() outcome (decision or error) and explain() result.
"""
import dataclasses, json, os, sys
from weaver_kernel.enums import SafetyClass, SensitivityTag
from weaver_kernel.errors import AgentKernelError, PolicyDenied
from weaver_kernel.models import Capability, CapabilityRequest, Principal
from weaver_kernel.policy import DefaultPolicyEngine
from weaver_kernel.policy_dsl import DeclarativePolicyEngine

HERE = os.path.dirname(os.path.abspath(__file__))

def build(case):
    c = case["capability"]
    cap = Capability(capability_id=c["capability_id"], name=c["capability_id"], description="",
                     safety_class=SafetyClass(c["safety_class"]), sensitivity=SensitivityTag(c.get("sensitivity", "NONE")),
                     allowed_fields=c.get("allowed_fields", []))
    r = case["request"]
    req = CapabilityRequest(capability_id=cap.capability_id, goal=r.get("goal", "g"), constraints=r.get("constraints", {}),
                            intent=r.get("intent"), scope=r.get("scope", {}))
    p = case["principal"]
    pr = Principal(principal_id=p["principal_id"], roles=p.get("roles", []), attributes=p.get("attributes", {}))
    return req, cap, pr

def run(engine, case):
    req, cap, pr = build(case)
    j = case["justification"]
    try:
        d = engine.evaluate(req, cap, pr, justification=j)
        case["evaluate"] = dataclasses.asdict(d)
    except AgentKernelError as e:
        case["evaluate"] = {"error": type(e).__name__, "message": str(e), "reason_code": getattr(e, "reason_code", None)}
    case["explain"] = dataclasses.asdict(engine.explain(req, cap, pr, justification=j))
    return case

def cap(sc, sens="NONE", fields=None, cid="cap.x"):
    return {"capability_id": cid, "safety_class": sc, "sensitivity": sens, "allowed_fields": fields or []}

def pr(roles, attrs=None, pid="u1"):
    return {"principal_id": pid, "roles": roles, "attributes": attrs or {}}

LONG = "because the ticket says so"
default_cases = []
def d(name, capability, principal, justification="", request=None):
    default_cases.append({"name": name, "capability": capability, "principal": principal,
                          "justification": justification, "request": request or {}})

d("read-ok", cap("READ"), pr(["reader"]))
d("write-no-role", cap("WRITE"), pr(["reader", "zeta", "reader", "Alpha"]))
d("write-short-just", cap("WRITE"), pr(["writer"]), "   short \u00e9\u00e9   ")
d("write-ok", cap("WRITE"), pr(["writer"]), LONG)
d("write-empty-roles", cap("WRITE"), pr([]), "")
d("destructive-writer", cap("DESTRUCTIVE"), pr(["writer"]), LONG)
d("destructive-admin-short", cap("DESTRUCTIVE"), pr(["admin"]), "\u3000\u3000abc\u2003")
d("destructive-ok", cap("DESTRUCTIVE"), pr(["admin"]), LONG)
d("pii-no-tenant", cap("READ", "PII", ["id", "email"]), pr(["reader"]))
d("pii-fields", cap("READ", "PII", ["id", "email"]), pr(["reader"], {"tenant": "acme"}),
  request={"constraints": {"allowed_fields": ["ssn"], "zzz": 1, "max_rows": 10}})
d("pii-reader", cap("READ", "PII", ["id", "email"]), pr(["pii_reader"], {"tenant": "acme"}))
d("pci-no-fields", cap("READ", "PCI"), pr([], {"tenant": ""}))
d("secrets-no-role", cap("READ", "SECRETS"), pr(["writer"]))
d("secrets-short", cap("READ", "SECRETS"), pr(["secrets_reader"]), "x")
d("secrets-ok", cap("READ", "SECRETS"), pr(["secrets_reader"]), LONG)
d("write-secrets-all-fail", cap("WRITE", "SECRETS"), pr(["reader"]), "no")
d("memory-write-no-role", cap("WRITE", "MEMORY"), pr(["writer"]), LONG)
d("memory-write-all-fail", cap("DESTRUCTIVE", "MEMORY"), pr(["reader"]))
d("memory-sensitive-read", cap("READ", "MEMORY"), pr(["reader"]), request={"scope": {"memory_scope": "sensitive", "a": 1}})
d("memory-sensitive-read-ok", cap("READ", "MEMORY"), pr(["memory_reader_sensitive"]), request={"scope": {"memory_scope": "sensitive"}})
d("memory-normal-read", cap("READ", "MEMORY"), pr([]), request={"scope": {"memory_scope": "team"}})
d("pii-write-multi", cap("WRITE", "PII", ["a"]), pr(["reader"]), "")
for i, mr in enumerate([1000, -5, 7, 7.9, -0.5, "12", " +1_0 ", "abc", "5.0", None, [1], {"a": 1}, True, 1e300, "9" * 30, "", "\u0661\u0662"]):
    d(f"max-rows-{i}", cap("READ", cid="cap.rows"), pr(["reader"]), request={"constraints": {"max_rows": mr, "other": "x"}})
d("max-rows-service", cap("READ"), pr(["service"]), request={"constraints": {"max_rows": 1000}})
d("service-default-cap", cap("READ"), pr(["service"]))
d("trace-scope-intent", cap("READ"), pr(["reader"]), request={"intent": "lookup", "scope": {"z": "1", "b": "2", "\u00e9": "3", "B": "4"}})
d("quotes-in-ids", cap("WRITE", cid="cap'\"x"), pr(["it's"], pid="o'brien"), "")

for case in default_cases:
    run(DefaultPolicyEngine(), case)

# ── Declarative engine ─────────────────────────────────────────────────────────
POLICY = {
    "default": "deny",
    "rules": [
        {"name": "reads-ok", "action": "allow", "match": {"safety_class": ["READ"], "sensitivity": ["NONE"]}},
        {"name": "eu-support", "action": "allow",
         "match": {"roles": ["support", "lead"], "intent": ["customer_lookup", "audit"], "scope": {"region": "eu", "team": "*"},
                   "attributes": {"tenant": "*", "tier": "gold"}, "min_justification": 10, "safety_class": ["READ"],
                   "sensitivity": ["PII"]},
         "constraints": {"max_rows": 20, "allowed_fields": ["id", "status"]}},
        {"name": "no-secrets", "action": "deny", "match": {"sensitivity": ["SECRETS"]}, "reason": "secrets are off-limits"},
        {"action": "deny", "match": {"roles": ["intern"], "safety_class": ["WRITE"]}},
        {"name": "writers", "action": "allow", "match": {"roles": ["writer"], "safety_class": ["WRITE"], "min_justification": 5},
         "constraints": {"z": 1, "a": [1, 2]}},
        {"name": 7, "action": "deny", "match": {"safety_class": ["DESTRUCTIVE"], "roles": ["admin"]}, "reason": 0},
    ],
}
dsl_cases = []
def s(name, capability, principal, justification="", request=None, policy=POLICY):
    dsl_cases.append({"name": name, "policy": policy, "capability": capability, "principal": principal,
                      "justification": justification, "request": request or {}})

GOOD = {"intent": "audit", "scope": {"region": "eu", "team": 5}, "constraints": {"max_rows": 999, "keep": True}}
s("read-ok", cap("READ"), pr([]), request={"constraints": {"max_rows": 100000}})
s("pii-all-good", cap("READ", "PII"), pr(["lead"], {"tenant": "t", "tier": "gold"}), "long enough!", GOOD)
s("pii-all-bad", cap("READ", "PII"), pr(["reader", "a"], {"tier": "silver"}), "short",
  {"intent": None, "scope": {"region": "us", "team": None}})
s("pii-intent-bad", cap("READ", "PII"), pr(["support"], {"tenant": "t", "tier": "gold"}), "long enough!",
  {"intent": "other", "scope": {"region": "eu", "team": "x"}})
s("pii-scope-nonstring", cap("READ", "PII"), pr(["support"], {"tenant": "t", "tier": "gold"}), "long enough!",
  {"intent": "audit", "scope": {"region": 1, "team": "x"}})
s("secrets-deny", cap("READ", "SECRETS"), pr(["admin"]))
s("intern-write", cap("WRITE"), pr(["intern", "writer"]), "long enough")
s("writer-ok", cap("WRITE"), pr(["writer"]), "12345", {"constraints": {"a": "req", "b": 2}})
s("writer-short", cap("WRITE"), pr(["writer"]), " 1234 ")
s("destructive-admin-deny-falsy-reason", cap("DESTRUCTIVE"), pr(["admin"]))
s("destructive-nonadmin", cap("DESTRUCTIVE"), pr(["writer"]))
s("pci-no-rule", cap("READ", "PCI"), pr(["admin"]))
s("default-allow", cap("READ", "PCI"), pr([]), policy={"default": "allow", "rules": [{"name": "x", "action": "deny", "match": {"roles": ["bad"]}}]})
s("empty-policy", cap("WRITE"), pr([]), policy={})
s("allow-rule-empty-match", cap("DESTRUCTIVE", "MEMORY"), pr([]), policy={"rules": [{"action": "allow", "constraints": {"k": None}}]})
s("dict-as-enum-list", cap("READ"), pr([]), policy={"rules": [{"action": "allow", "match": {"safety_class": {"READ": 1}}}]})
s("empty-enum-list", cap("READ"), pr([]), policy={"rules": [{"name": None, "action": "allow", "match": {"safety_class": []}}]})

for case in dsl_cases:
    run(DeclarativePolicyEngine.from_dict(case["policy"]), case)

# Config errors
bad_policies = [
    {"default": "x"}, {"default": None}, {"default": 1}, {"rules": None}, {"rules": {}}, {"rules": [5]}, {"rules": [None]},
    {"rules": [[1]]}, {"rules": ["s"]}, {"rules": [1.5]}, {"rules": [True]}, {"rules": [{}]},
    {"rules": [{"name": 5, "action": "x"}]}, {"rules": [{"name": [1], "action": "ALLOW"}]},
    {"rules": [{"action": "allow", "match": []}]}, {"rules": [{"action": "allow", "match": None}]},
    {"rules": [{"action": "allow", "match": {"safety_class": "READ"}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": 5}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": None}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": True}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": 2.5}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": [5]}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": [None]}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": [[1]]}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": [{"a": 1}]}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": [1.5, "READ"]}}]},
    {"rules": [{"action": "allow", "match": {"safety_class": ["READ", True]}}]},
    {"rules": [{"action": "allow", "match": {"sensitivity": ["pii"]}}]},
    {"rules": [{"action": "allow", "match": {"sensitivity": ["NONE", "it's"]}}]},
    {"rules": [{"action": "allow", "match": {"roles": "a"}}]},
    {"rules": [{"action": "allow", "match": {"roles": [1]}}]},
    {"rules": [{"action": "allow", "match": {"intent": None}}]},
    {"rules": [{"action": "allow", "match": {"attributes": {"a": 1}}}]},
    {"rules": [{"action": "allow", "match": {"scope": []}}]},
    {"rules": [{"action": "allow", "match": {"min_justification": True}}]},
    {"rules": [{"action": "allow", "match": {"min_justification": 1.0}}]},
    {"rules": [{"action": "allow", "match": {"min_justification": "3"}}]},
    {"rules": [{"action": "allow", "constraints": []}]},
    {"rules": [{"action": "allow", "constraints": None}]},
    {"rules": [{"action": "allow", "constraints": "x"}]},
]
errors = []
for p in bad_policies:
    try:
        DeclarativePolicyEngine.from_dict(p)
        errors.append({"policy": p, "error": None})
    except AgentKernelError as e:
        errors.append({"policy": p, "error": type(e).__name__, "message": str(e)})

with open(os.path.join(HERE, "default_policy_cases.json"), "w") as f:
    json.dump(default_cases, f, indent=1, ensure_ascii=False)
with open(os.path.join(HERE, "dsl_policy_cases.json"), "w") as f:
    json.dump({"cases": dsl_cases, "config_errors": errors}, f, indent=1, ensure_ascii=False)
print(len(default_cases), len(dsl_cases), len(errors))
