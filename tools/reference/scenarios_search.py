"""Search (BM25 + prefix bonus) and capability listing scenarios (spec section 6)."""

from __future__ import annotations

from fixtures import cap, scenario

SEARCH_CAPS = [
    cap("billing.list_invoices", "List invoices", "List all invoices for a customer account.",
        sensitivity="PII", allowed_fields=["id", "amount"], tags=["billing", "invoices"],
        impl={"driver_id": "billing", "operation": "list_invoices"}),
    cap("billing.get_invoice", "Get invoice", "Fetch a single invoice by id.",
        sensitivity="PII", tags=["billing", "invoice"]),
    cap("billing.summarize_spend", "Summarize spend", "Total spend per currency and status.",
        tags=["billing", "spend", "report"],
        parameters_schema={"type": "object", "properties": {"currency": {"type": "string"}},
                           "required": []}),
    cap("billing.update_invoice", "Update invoice", "Change the status or amount of an invoice.",
        safety="WRITE", tags=["billing", "invoice"],
        tool_hints={"cache_control": {"type": "ephemeral"}, "strict": True}),
    cap("billing.delete_invoice", "Delete invoice", "Permanently delete an invoice.",
        safety="DESTRUCTIVE", tags=["billing", "invoice"]),
    cap("crm.list_customers", "List customers", "List customer records with contact data.",
        sensitivity="PII", tags=["crm", "customers"]),
    cap("crm.get_customer", "Get customer", "Fetch one customer profile.",
        sensitivity="PII", tags=["crm", "customer", "profile"]),
    cap("crm.update_customer", "Update customer", "Edit a customer profile.",
        safety="WRITE", tags=["crm", "customer"]),
    cap("reports.monthly_invoices", "Monthly invoice report", "Invoices grouped by month.",
        tags=["reports", "invoices", "billing"]),
    cap("reports.revenue", "Revenue report", "Revenue per customer and month.",
        tags=["reports", "revenue", "billing"]),
    cap("support.list_tickets", "List tickets", "List support tickets for a customer.",
        tags=["support", "tickets"]),
    cap("support.close_ticket", "Close ticket", "Close a support ticket.",
        safety="WRITE", tags=["support", "tickets"]),
    cap("intl.catalogue", "Über café données", "Résumé of naïve Ünïcode invoices and Straße data.",
        tags=["ünïcode", "café", "naïve"]),
    cap("zeta.b", "Twin report", "An identical twin capability.", tags=["twin"]),
    cap("zeta.a", "Twin report", "An identical twin capability.", tags=["twin"]),
    cap("zeta.c_twin", "Twin report", "An identical twin capability.", tags=["twin"]),
]

SETUP = {"capabilities": SEARCH_CAPS}


def q(goal: str) -> dict[str, str]:
    return {"op": "request_capabilities", "goal": goal}


SCENARIOS = [
    scenario("search_plain", "plain BM25 ranking: id/name/tag/description weights, no stemming",
             SETUP, [q("list invoices"), q("billing"), q("invoice"), q("customer"), q("customers"),
                     q("revenue per month"), q("delete"), q("LIST INVOICES"),
                     q("billing.list_invoices")]),
    scenario("search_stopwords", "stop-word-only and empty goals return [] (get/show are stop words)",
             SETUP, [q("the"), q("please show me"), q(""), q("   "), q("get me the"),
                     q("please show me the invoice"), q("a an and any are as at be by for"),
                     q("?!,.")]),
    scenario("search_prefix", "prefix bonus +1.0 when the id starts with the tokens joined by '.'",
             SETUP, [q("bil"), q("billing list"), q("crm"), q("zeta"), q("reports monthly"),
                     q("billing list invoices"), q("z"), q("billing.get")]),
    scenario("search_unicode", "lower() then [a-z0-9]+: non-ASCII letters split tokens",
             SETUP, [q("Ünïcode invoices"), q("café"), q("naïve résumé"), q("ÜBER"),
                     q("cafe\u0301"), q("STRASSE straße"), q("ｉｎｖｏｉｃｅ"), q("İnvoice"),
                     q("données")]),
    scenario("search_duplicates", "duplicated query tokens count again in the BM25 sum",
             SETUP, [q("invoice"), q("invoice invoice invoice"), q("twin"), q("twin twin"),
                     q("report report customer")]),
    scenario("search_ties", "equal scores are ordered by capability_id",
             SETUP, [q("twin"), q("identical"), q("twin report"), q("report")]),
    scenario("search_truncation", "more than 10 hits are truncated to the first 10",
             SETUP, [q("billing invoice customer report tickets twin list"),
                     q("list customer invoice report support crm billing zeta revenue month")]),
    scenario("search_list_capabilities", "list_capabilities: registration order, full Capability JSON",
             SETUP, [{"op": "list_capabilities"}]),
]
