"""invoke on the billing driver: every response mode, PII projection, traces (spec 3.4, 8.1)."""

from __future__ import annotations

from fixtures import (
    ADMIN, BILLING_SETUP, PII_READER, READER, SERVICE, STATS, TRACES, grant, invoke, principal,
    scenario,
)

LIST = {"operation": "list_invoices"}
ADMIN_NO_TENANT = principal("u-root", "admin", tenant=None)
PII_ADMIN = principal("u-pii-admin", "admin", "pii_reader")


def _explain(ref: str) -> dict:
    return {"op": "explain", "action_id": ref}


SCENARIOS = [
    scenario("invoke_billing_summary", "summary of the 200 billing rows after PII projection; "
             "800 warnings; trace and stats",
             BILLING_SETUP, [
                 grant("billing.list_invoices", READER, save="g"),
                 invoke("$g.token", READER, "summary", LIST, save="f"),
                 _explain("$f.action_id"), STATS,
             ]),
    scenario("invoke_billing_table", "table mode: first max_rows rows, projected and redacted",
             BILLING_SETUP, [
                 grant("billing.list_invoices", READER, constraints={"max_rows": 3}, save="g"),
                 invoke("$g.token", READER, "table", LIST, save="f"),
                 _explain("$f.action_id"),
                 grant("billing.list_invoices", PII_READER, constraints={"max_rows": 2}, save="g2"),
                 invoke("$g2.token", PII_READER, "table", LIST),
                 STATS,
             ]),
    scenario("invoke_billing_handle_only", "handle_only: handle + warnings, no facts/rows",
             BILLING_SETUP, [
                 grant("billing.list_invoices", READER, save="g"),
                 invoke("$g.token", READER, "handle_only", LIST, save="f"),
                 _explain("$f.action_id"),
             ]),
    scenario("invoke_billing_raw_admin", "raw as admin: redacted data untruncated + size warning, "
             "no handle",
             BILLING_SETUP, [
                 grant("billing.list_invoices", ADMIN, constraints={"max_rows": 2}, save="g"),
                 invoke("$g.token", ADMIN, "raw", {"operation": "list_invoices", "status": "overdue"},
                        save="f"),
                 _explain("$f.action_id"),
                 grant("billing.summarize_spend", ADMIN_NO_TENANT, save="g2"),
                 invoke("$g2.token", ADMIN_NO_TENANT, "raw", {"operation": "summarize_spend"}),
                 STATS,
             ]),
    scenario("invoke_billing_raw_nonadmin", "raw as non-admin becomes summary before the "
             "firewall: handle present, no admin warning, counted as downgrade",
             BILLING_SETUP, [
                 grant("billing.summarize_spend", READER, save="g"),
                 invoke("$g.token", READER, "raw", {"operation": "summarize_spend"}, save="f"),
                 _explain("$f.action_id"), STATS,
             ]),
    scenario("invoke_billing_pii_reader", "pii_reader: no projection, sensitive field names "
             "redacted, line_items elided at depth 3, status filter",
             BILLING_SETUP, [
                 grant("billing.list_invoices", PII_READER, constraints={"max_rows": 4}, save="g"),
                 invoke("$g.token", PII_READER, "table", {"operation": "list_invoices", "status": "paid"}),
                 invoke("$g.token", PII_READER, "summary", {"operation": "list_invoices", "status": "paid"}),
                 invoke("$g.token", PII_READER, "summary", {"operation": "list_invoices", "status": "void"}),
                 invoke("$g.token", PII_READER, "summary", {"operation": "list_invoices", "status": ""}),
                 grant("billing.list_invoices", PII_ADMIN, save="ga"),
                 invoke("$ga.token", PII_ADMIN, "raw", {"operation": "list_invoices", "status": "unpaid"}),
             ]),
    scenario("invoke_billing_get_invoice", "get_invoice: dict shape in each mode; missing id -> None",
             BILLING_SETUP, [
                 grant("billing.get_invoice", READER, save="g"),
                 invoke("$g.token", READER, "summary", {"operation": "get_invoice", "id": "INV-0007"}),
                 invoke("$g.token", READER, "table", {"operation": "get_invoice", "id": "INV-0007"}),
                 invoke("$g.token", READER, "summary", {"operation": "get_invoice", "id": "INV-9999"},
                        save="f"),
                 invoke("$g.token", READER, "table", {"operation": "get_invoice"}),
                 _explain("$f.action_id"),
                 grant("billing.get_invoice", ADMIN, save="ga"),
                 invoke("$ga.token", ADMIN, "raw", {"operation": "get_invoice", "id": "INV-0200"}),
                 invoke("$ga.token", ADMIN, "raw", {"operation": "get_invoice", "id": "INV-0201"}),
             ]),
    scenario("invoke_billing_summarize_spend", "summarize_spend: totals per currency/status",
             BILLING_SETUP, [
                 grant("billing.summarize_spend", SERVICE, save="g"),
                 invoke("$g.token", SERVICE, "summary", {"operation": "summarize_spend"}),
                 invoke("$g.token", SERVICE, "table", {"operation": "summarize_spend"}),
                 invoke("$g.token", SERVICE, "handle_only", {"operation": "summarize_spend",
                                                             "ignored": [1, 2]}),
             ]),
    scenario("invoke_firewall_max_chars", "Budgets max_chars caps summary facts; raw untruncated",
             {**BILLING_SETUP, "firewall": {"max_chars": 120, "max_fields": 2}}, [
                 grant("billing.list_invoices", READER, save="g"),
                 invoke("$g.token", READER, "summary", LIST),
                 invoke("$g.token", READER, "table", {"operation": "list_invoices", "status": "paid"}),
                 grant("billing.summarize_spend", ADMIN, save="ga"),
                 invoke("$ga.token", ADMIN, "raw", {"operation": "summarize_spend"}),
                 invoke("$ga.token", ADMIN, "summary", {"operation": "summarize_spend"}),
             ]),
    scenario("invoke_errors_traced", "unknown operation (DriverError, traced) and unknown "
             "response_mode (acts as summary, counted as downgrade); untraced failures",
             BILLING_SETUP, [
                 grant("billing.summarize_spend", READER, save="g"),
                 invoke("$g.token", READER, "summary", {"operation": "nope"}, save=None),
                 invoke("$g.token", READER, "summary", {}),
                 invoke("$g.token", READER, "bogus", {"operation": "summarize_spend"}),
                 invoke("$g.token", principal("u-other", "reader"), "summary",
                        {"operation": "summarize_spend"}),
                 TRACES, STATS,
             ]),
    scenario("invoke_trace_args_redaction", "trace args: redact() with default depth; memory.* "
             "payload keys blanked; canary reference (spec 11.2 #7)",
             {"capabilities": [
                 {"capability_id": "billing.refund", "name": "Refund", "description": "Refund.",
                  "safety_class": "WRITE", "sensitivity": "NONE", "allowed_fields": [], "tags": [],
                  "impl": None, "parameters_schema": None, "tool_hints": None},
                 {"capability_id": "memory.save", "name": "Save", "description": "Save memory.",
                  "safety_class": "READ", "sensitivity": "NONE", "allowed_fields": [], "tags": [],
                  "impl": None, "parameters_schema": None, "tool_hints": None}],
              "drivers": [{"type": "static", "driver_id": "fixture",
                           "operations": {"billing.refund": {"ok": True},
                                          "memory.save": [{"id": 1, "saved": True}]}}],
              "routes": {"billing.refund": ["fixture"], "memory.save": ["fixture"]},
              "policy": {"type": "default"}}, [
                 grant("billing.refund", ADMIN, "canary regression coverage", save="g"),
                 invoke("$g.token", ADMIN, "summary",
                        {"reference": "authorize Bearer canary-zzz-9999-do-not-leak-token",
                         "amount": 42, "email": "x@y.z", "Password": 7,
                         "nested": {"a": {"b": {"c": "deep"}}, "list": [["x"]]},
                         "contact": "mail canary.victim@example.invalid now"}, save="f"),
                 _explain("$f.action_id"),
                 grant("memory.save", READER, save="gm"),
                 invoke("$gm.token", READER, "table",
                        {"Payload": "secret note", "content": {"k": 1}, "TEXT": "t", "body": None,
                         "value": 3, "memory": [1], "other": "kept 555-123-4567"}, save="fm"),
                 _explain("$fm.action_id"),
             ]),
]
