"""DeclarativePolicyEngine (TOML / YAML / dict) evaluate, explain and config errors (spec 5.3)."""

from __future__ import annotations

from fixtures import (
    ADMIN, POLICY_CAPS, READER, STATS, TRACES, explain_denial, grant, principal, scenario,
)

TOML_POLICY = """\
default = "deny"

[[rules]]
name = "no-secrets"
action = "deny"
reason = "secrets are off-limits"
[rules.match]
sensitivity = ["SECRETS"]

[[rules]]
name = "reads-ok"
action = "allow"
[rules.match]
safety_class = ["READ"]
sensitivity = ["NONE"]

[[rules]]
name = "eu-support"
action = "allow"
[rules.match]
roles = ["support"]
intent = ["customer_lookup"]
scope = { region = "eu" }
attributes = { tenant = "*" }
[rules.constraints]
max_rows = 20
allowed_fields = ["id", "status"]

[[rules]]
name = "writers"
action = "allow"
[rules.match]
safety_class = ["WRITE"]
roles = ["writer", "admin"]
min_justification = 10
attributes = { team = "docs" }

[[rules]]
action = "deny"
[rules.match]
safety_class = ["DESTRUCTIVE"]
roles = ["intern"]
"""

YAML_POLICY = """\
# same rules as the TOML policy
default: deny
rules:
  - name: no-secrets
    action: deny
    reason: secrets are off-limits
    match: {sensitivity: [SECRETS]}
  - name: reads-ok
    action: allow
    match:
      safety_class: [READ]
      sensitivity: [NONE]
  - name: eu-support
    action: allow
    match:
      roles: [support]
      intent: [customer_lookup]
      scope: {region: eu}
      attributes: {tenant: "*"}
    constraints: {max_rows: 20, allowed_fields: [id, status]}
  - name: writers
    action: allow
    match:
      safety_class: [WRITE]
      roles: [writer, admin]
      min_justification: 10
      attributes: {team: docs}
  - action: deny
    match: {safety_class: [DESTRUCTIVE], roles: [intern]}
"""

SUPPORT = principal("u-support", "support")
DOCS_WRITER = principal("u-docs", "writer", team="docs")
INTERN = principal("u-intern", "intern")


def evaluate_steps() -> list[dict]:
    return [
        grant("docs.read", READER, "", save="g_read"),
        grant("vault.read", ADMIN),
        grant("crm.contacts", SUPPORT, "", intent="customer_lookup", scope={"region": "eu"},
              constraints={"max_rows": 99, "extra": 1}),
        grant("crm.contacts", SUPPORT, "", scope={"region": "eu"}),
        grant("crm.contacts", SUPPORT, "", intent="customer_lookup", scope={"region": "us"}),
        grant("crm.contacts", SUPPORT, "", intent="customer_lookup", scope={"region": 5}),
        grant("crm.contacts", principal("u-support2", "support", tenant=None), "",
              intent="customer_lookup", scope={"region": "eu"}),
        grant("docs.write", DOCS_WRITER, "ten chars!"),
        grant("docs.write", DOCS_WRITER, "  too short "),
        grant("docs.purge", INTERN),
        grant("docs.purge", ADMIN),
        explain_denial("docs.read", READER),
        explain_denial("vault.read", ADMIN),
        explain_denial("crm.contacts", READER),
        explain_denial("docs.write", DOCS_WRITER, "short"),
        explain_denial("docs.purge", INTERN),
        explain_denial("docs.purge", ADMIN),
        STATS, TRACES,
    ]


EXPLAIN_POLICY = {
    "default": "deny",
    "rules": [
        {"name": "attr", "action": "allow",
         "match": {"safety_class": ["READ"], "sensitivity": ["NONE"],
                   "attributes": {"clearance": "high", "tenant": "*"}}},
        {"name": "just", "action": "allow",
         "match": {"safety_class": ["WRITE"], "sensitivity": ["NONE"], "min_justification": 20}},
        {"name": "intent", "action": "allow",
         "match": {"sensitivity": ["PII"], "intent": ["audit", "support"]}},
        {"name": "scope", "action": "allow",
         "match": {"sensitivity": ["PCI"], "scope": {"region": "eu", "ticket": "*"}}},
        {"name": "roles", "action": "allow",
         "match": {"sensitivity": ["SECRETS"], "safety_class": ["READ"],
                   "roles": ["vault-admin", "o'brien"]}},
        {"name": "mem-deny", "action": "deny",
         "match": {"sensitivity": ["MEMORY"], "roles": ["intern"]}},
        {"name": "mem-allow", "action": "allow",
         "match": {"sensitivity": ["MEMORY"], "roles": ["memory"]},
         "constraints": {"scope": {"project": "x"}, "max_rows": 5}},
    ],
}

FALLTHROUGH_POLICY = {
    "default": "allow",
    "rules": [
        {"name": "deny-destructive", "action": "deny", "match": {"safety_class": ["DESTRUCTIVE"]}},
        {"name": "cap-reads", "action": "allow", "match": {"safety_class": ["READ"]},
         "constraints": {"max_rows": 7}},
    ],
}


def dsl(fmt: str, text_or_data: object) -> dict:
    if fmt == "dict":
        return {"type": "dsl", "format": "dict", "data": text_or_data}
    return {"type": "dsl", "format": fmt, "text": text_or_data}


def load(fmt: str, text_or_data: object) -> dict:
    step = dsl(fmt, text_or_data)
    step.pop("type")
    return {"op": "load_policy", **step}


INVALID_DICTS = [
    {"default": "maybe"},
    {"rules": {"name": "x"}},
    {"rules": ["not a mapping"]},
    {"rules": [{"name": "r", "action": "permit"}]},
    {"rules": [{"match": {}}]},
    {"rules": [{"name": "r", "action": "allow", "match": ["READ"]}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"safety_class": ["READ", "EXECUTE"]}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"sensitivity": "PII"}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"safety_class": 5}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"roles": "admin"}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"intent": ["a", 1]}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"attributes": {"tenant": 1}}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"scope": ["eu"]}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"min_justification": True}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"min_justification": "5"}}]},
    {"rules": [{"name": "r", "action": "allow", "match": {"min_justification": 5.0}}]},
    {"rules": [{"name": "r", "action": "allow", "constraints": ["max_rows"]}]},
    {"rules": [{"name": "r", "action": "allow", "constraints": None}]},
    {},
    {"default": "allow", "rules": [], "unknown_key": 1},
]

SCENARIOS = [
    scenario("dsl_toml_evaluate", "TOML policy: allow, explicit deny, no match, merge, explain",
             {"capabilities": POLICY_CAPS, "policy": dsl("toml", TOML_POLICY)}, evaluate_steps()),
    scenario("dsl_yaml_evaluate", "the same policy as YAML gives the same decisions",
             {"capabilities": POLICY_CAPS, "policy": dsl("yaml", YAML_POLICY)}, evaluate_steps()),
    scenario("dsl_dict_explain_kinds", "explain for roles, attribute, intent, scope, "
             "min_justification, denied_by_rule, default-deny",
             {"capabilities": POLICY_CAPS, "policy": dsl("dict", EXPLAIN_POLICY)}, [
                 explain_denial("docs.read", READER),
                 explain_denial("docs.read", principal("u-clear", clearance="low")),
                 explain_denial("docs.read", principal("u-clear2", clearance="high")),
                 explain_denial("docs.write", READER, "  a short one  "),
                 explain_denial("crm.contacts", READER),
                 explain_denial("crm.contacts", READER, intent="marketing"),
                 explain_denial("payments.cards", READER, scope={"region": "us"}),
                 explain_denial("payments.cards", READER, scope={"region": 1, "ticket": None}),
                 explain_denial("vault.read", READER),
                 explain_denial("vault.rotate", READER),
                 explain_denial("memory.read_notes", principal("u-int", "intern")),
                 explain_denial("memory.read_notes", READER),
                 explain_denial("docs.purge", ADMIN),
                 grant("crm.contacts", READER, "", intent="audit", constraints={"max_rows": 1000}),
                 grant("memory.read_notes", principal("u-mem", "memory"), "",
                       constraints={"scope": {"project": "y"}, "keep": True}),
                 grant("payments.cards", READER, "", scope={"region": "eu", "ticket": "T-1"}),
             ]),
    scenario("dsl_default_allow", "default allow fallthrough; deny rule without reason; "
             "rule constraints replace request keys, no max_rows clamp",
             {"capabilities": POLICY_CAPS, "policy": dsl("dict", FALLTHROUGH_POLICY)}, [
                 grant("docs.write", READER, ""),
                 grant("docs.purge", ADMIN),
                 grant("docs.read", READER, "", constraints={"max_rows": 100000, "a": 1}),
                 grant("vault.rotate", READER, "", constraints={"max_rows": "abc"}),
                 explain_denial("docs.purge", ADMIN),
                 explain_denial("docs.write", READER),
                 STATS,
             ]),
    scenario("dsl_invalid_structure", "malformed policy data -> PolicyConfigError messages",
             {}, [load("dict", d) for d in INVALID_DICTS]),
    scenario("dsl_invalid_files", "TOML/YAML file shape errors (parser-specific text: see README)",
             {}, [
                 load("toml", 'default = "deny"\nrules = "nope"\n'),
                 load("toml", '[[rules]]\nname = "r"\naction = "allow"\n[rules.match]\n'
                              'min_justification = 10.0\n'),
                 load("toml", 'default = "allow"\n'),
                 load("yaml", "- a\n- b\n"),
                 load("yaml", ""),
                 load("yaml", "default: off\n"),
                 load("yaml", "rules:\n  - name: r\n    action: allow\n    match:\n"
                              "      min_justification: '10'\n"),
                 load("yaml", "default: allow\nrules: []\n"),
             ]),
    scenario("dsl_invalid_syntax", "unparseable files; only the message prefix is portable",
             {}, [
                 load("toml", "default = deny\n"),
                 load("yaml", "rules: [\n"),
             ]),
]
