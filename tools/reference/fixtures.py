"""Shared scenario data: principals, capabilities, registries and step builders.

Plain dicts in the exact JSON shapes of the golden format; the helpers only
save typing (they fill defaults so every capability object is complete).
"""

from __future__ import annotations

from typing import Any


def cap(
    cid: str,
    name: str,
    description: str,
    safety: str = "READ",
    sensitivity: str = "NONE",
    allowed_fields: list[str] | None = None,
    tags: list[str] | None = None,
    impl: dict[str, str] | None = None,
    parameters_schema: dict[str, Any] | None = None,
    tool_hints: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "capability_id": cid,
        "name": name,
        "description": description,
        "safety_class": safety,
        "sensitivity": sensitivity,
        "allowed_fields": allowed_fields or [],
        "tags": tags or [],
        "impl": impl,
        "parameters_schema": parameters_schema,
        "tool_hints": tool_hints,
    }


def principal(pid: str, *roles: str, tenant: str | None = "acme", **attrs: str) -> dict[str, Any]:
    attributes = dict(attrs)
    if tenant is not None:
        attributes = {"tenant": tenant, **attributes}
    return {"principal_id": pid, "roles": list(roles), "attributes": attributes}


READER = principal("u-reader", "reader")
WRITER = principal("u-writer", "writer")
ADMIN = principal("u-admin", "admin")
SERVICE = principal("svc-batch", "service")
PII_READER = principal("u-pii", "reader", "pii_reader")
NO_TENANT = principal("u-notenant", "reader", tenant=None)

PII_FIELDS = ["id", "amount", "currency", "status", "date"]

BILLING_CAPS = [
    cap("billing.list_invoices", "List invoices", "List all invoices, optionally by status.",
        sensitivity="PII", allowed_fields=PII_FIELDS, tags=["billing", "invoices", "list"],
        impl={"driver_id": "billing", "operation": "list_invoices"}),
    cap("billing.get_invoice", "Get invoice", "Fetch a single invoice by its id.",
        sensitivity="PII", tags=["billing", "invoice"],
        impl={"driver_id": "billing", "operation": "get_invoice"}),
    cap("billing.summarize_spend", "Summarize spend", "Total spend per currency and status.",
        tags=["billing", "spend", "report"],
        impl={"driver_id": "billing", "operation": "summarize_spend"}),
    cap("billing.update_invoice", "Update invoice", "Change the status or amount of an invoice.",
        safety="WRITE", tags=["billing", "invoice"]),
    cap("billing.delete_invoice", "Delete invoice", "Permanently delete an invoice.",
        safety="DESTRUCTIVE", tags=["billing", "invoice"]),
]

BILLING_SETUP: dict[str, Any] = {
    "capabilities": BILLING_CAPS,
    "drivers": [{"type": "billing"}],
    "routes": {c["capability_id"]: ["billing"] for c in BILLING_CAPS},
    "policy": {"type": "default"},
}

# Capabilities for policy tests: one per safety class x sensitivity that matters.
POLICY_CAPS = [
    cap("docs.read", "Read docs", "Read public documentation.", tags=["docs"]),
    cap("docs.write", "Write docs", "Edit public documentation.", safety="WRITE"),
    cap("docs.purge", "Purge docs", "Delete all documentation.", safety="DESTRUCTIVE"),
    cap("crm.contacts", "Contacts", "Customer contact records.", sensitivity="PII",
        allowed_fields=["id", "name"]),
    cap("payments.cards", "Cards", "Stored payment cards.", sensitivity="PCI"),
    cap("vault.read", "Read secret", "Read a secret from the vault.", sensitivity="SECRETS"),
    cap("vault.rotate", "Rotate secret", "Rotate a vault secret.", safety="WRITE",
        sensitivity="SECRETS"),
    cap("memory.read_notes", "Read notes", "Read durable agent memory.", sensitivity="MEMORY"),
    cap("memory.write_notes", "Write notes", "Write durable agent memory.", safety="WRITE",
        sensitivity="MEMORY"),
    cap("memory.forget", "Forget notes", "Delete durable agent memory.", safety="DESTRUCTIVE",
        sensitivity="MEMORY"),
]

POLICY_SETUP: dict[str, Any] = {"capabilities": POLICY_CAPS, "policy": {"type": "default"}}

ROWS = [
    {"id": 1, "name": "Alice", "status": "open", "region": "eu", "score": 10, "active": True},
    {"id": 2, "name": "Bob", "status": "closed", "region": "us", "score": 20, "active": False},
    {"id": 3, "name": "Carol", "status": "open", "region": "eu", "score": 30, "active": True},
    {"id": 4, "name": "Dave", "status": "open", "region": "us", "score": 40.5, "active": True},
    {"id": 5, "name": "Eve", "status": "closed", "region": "eu", "score": 50, "active": False},
    {"id": 6, "name": "Frank", "status": "open", "region": "apac", "score": 60, "active": True},
    {"id": 7, "name": "Grace", "status": "pending", "region": "eu", "score": 70, "active": True},
    {"id": 8, "name": "Hiro", "status": "open", "region": "apac", "score": 80, "active": False},
]

FIXTURE_CAPS = [
    cap("records.list", "List records", "List fixture records.", tags=["records"]),
    cap("records.update", "Update records", "Update fixture records.", safety="WRITE"),
    cap("records.drop", "Drop records", "Drop fixture records.", safety="DESTRUCTIVE"),
]


def fixture_setup(data: Any = None, **extra: Any) -> dict[str, Any]:
    """Three record capabilities served by a static driver 'fixture' (op = capability id)."""
    data = ROWS if data is None else data
    setup: dict[str, Any] = {
        "capabilities": FIXTURE_CAPS,
        "drivers": [{
            "type": "static",
            "driver_id": "fixture",
            "operations": {c["capability_id"]: data for c in FIXTURE_CAPS},
        }],
        "routes": {c["capability_id"]: ["fixture"] for c in FIXTURE_CAPS},
        "policy": {"type": "default"},
    }
    setup.update(extra)
    return setup


def req(cid: str, goal: str = "parity", constraints: dict[str, Any] | None = None,
        intent: str | None = None, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"capability_id": cid, "goal": goal, "constraints": constraints or {},
            "intent": intent, "scope": scope or {}}


JUST = "quarterly reconciliation of accounts"  # >= 15 code points


def grant(cid: str, who: dict[str, Any], justification: str = JUST, save: str | None = None,
          **req_kw: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"op": "grant", "request": req(cid, **req_kw), "principal": who,
                            "justification": justification}
    if save:
        step["save"] = save
    return step


def explain_denial(cid: str, who: dict[str, Any], justification: str = "",
                   **req_kw: Any) -> dict[str, Any]:
    return {"op": "explain_denial", "request": req(cid, **req_kw), "principal": who,
            "justification": justification}


def invoke(token: Any, who: dict[str, Any], mode: str = "summary", args: dict[str, Any] | None = None,
           dry_run: bool = False, save: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"op": "invoke", "token": token, "principal": who,
                            "args": args or {}, "response_mode": mode, "dry_run": dry_run}
    if save:
        step["save"] = save
    return step


def expand(handle: Any, query: dict[str, Any], who: dict[str, Any] | None,
           save: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"op": "expand", "handle": handle, "query": query, "principal": who}
    if save:
        step["save"] = save
    return step


def scenario(name: str, description: str, setup: dict[str, Any],
             steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "description": description, "setup": setup, "steps": steps}


STATS = {"op": "stats"}
TRACES = {"op": "list_traces"}
