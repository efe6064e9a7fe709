"""Firewall pieces called directly: redact, summarize, transform (spec 8.1-8.3)."""

from __future__ import annotations

from fixtures import ROWS, scenario

BEARER = "Bearer canary-zzz-9999-do-not-leak-token"


def r(data: object, allowed_fields: list[str] | None = None, max_depth: int = 3) -> dict:
    return {"op": "redact", "data": data, "allowed_fields": allowed_fields, "max_depth": max_depth}


def s(data: object, max_facts: int = 20) -> dict:
    return {"op": "summarize", "data": data, "max_facts": max_facts}


def t(data: object, mode: str, roles: list[str] | None = None, constraints: dict | None = None,
      budgets: dict | None = None) -> dict:
    step = {"op": "transform", "data": data, "response_mode": mode, "roles": roles or [],
            "constraints": constraints or {}}
    if budgets is not None:
        step["budgets"] = budgets
    return step


PATTERN_STRINGS = [
    "mail alice.smith+tag@example.co.uk today",
    "call +1 555 123 4567 or (020) 7946 0958 or 555.123.4567",
    "tel 020-7946-0958 and 06 12 34 56 78",
    "card 4111111111111111 exp",
    "ssn 123-45-6789 and 123 45 6789",
    "Authorization: Bearer abc.DEF-123_~+/== trailing",
    "bearer    lower-case-token",
    "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-1 end",
    "api_key=ABCDEFGH1234 apikey: 12345678 api-token ABCDEFGHIJ access_key=short1 API_KEY = XyZ12345/+",
    "dsn postgres://user:p%40ss@db.internal:5432/app?sslmode=require",
    "redis://:nopass@cache/0 and mysql://root:pw@localhost",
    "nothing to see here",
]

ORDER_STRINGS = [
    "card 4111 1111 1111 1111",
    "card 4111-1111-1111-1111",
    "+1-555-1234",
    "2024-01-15",
    "on 2024-01-15 10:00:00 at 10.0.0.1",
    "version 1.2.3456.7890 and path /555-123-4567/ and 555-123-4567.",
    "see https://bob@example.com/path and https://user:pw@example.com/x",
    "mailto:bob@example.com?subject=hi",
    "api_key=bob@example.com",
    "Bearer user:pw@host",
    "postgresql://canary:zzz-secret-pw@db.invalid/main",
    "12345678901234567890",
    "id 1234567890123",
]

UNICODE_STRINGS = [
    "line1\r\nBearer xyz123\r\nline3",
    "phone ٥٥٥-١٢٣-٤٥٦٧ arabic-indic",
    "card ４１１１ １１１１ １１１１ １１１１ fullwidth",
    "ssn ١٢٣-٤٥-٦٧٨٩",
    "api_\u212aey=ABCDEFGH1234 kelvin",
    "acce\u017f\u017f_key=ABCDEFGH1234 long s",
    "BEARER\u00a0nbsp-token-123",
    "Bearer\u3000ideographic-space",
    "jose\u0301@example.com decomposed",
    "josé@example.com composed",
    "é4111111111111111",
    "x4111111111111111",
    "_4111111111111111_",
    "Bearer токен-кириллица",
    "phone 555\u2009123\u20094567 thin spaces",
]

SCENARIOS = [
    scenario("redact_patterns", "each inline pattern in order (email, phone, card, ssn, bearer, "
             "jwt, api key, connection string)", {}, [r(x) for x in PATTERN_STRINGS]),
    scenario("redact_order", "order-dependent results: phone eats card digits, dates kept, "
             "email inside URLs", {}, [r(x) for x in ORDER_STRINGS]),
    scenario("redact_unicode", "Unicode \\d \\s \\b, case-insensitive Kelvin sign / long s, CRLF, "
             "decomposed accents", {}, [r(x) for x in UNICODE_STRINGS]),
    scenario("redact_field_names", "sensitive field names (case-insensitive exact) redact any value",
             {}, [
                 r({"EMAIL": "x", "Phone": 5551234, "secret": {"nested": 1}, "PassWord": None,
                    "user_email": "plain", "secret_note": "plain", "ssn": ["a"], "cvv": 123,
                    "credit_card": True, "card_number": "4111", "social_security_number": 1.5,
                    "email_address": "z@z.io", "Secret ": "x", "ſecret": "long s"}),
                 r([{"email": "a@b.co"}, {"email": "c@d.co"}]),
                 r({"rows": [{"password": "p"}]}),
             ]),
    scenario("redact_depth", "containers at the depth limit elided; strings still scrubbed",
             {}, [
                 r({"l0": {"l1": {"l2": {"l3": {"note": "auth=" + BEARER}}}}}),
                 r({"a": {"b": {"c": ["key " + BEARER]}}}),
                 r({"a": {"b": {"c": "key " + BEARER, "d": 1, "e": None, "f": [], "g": {}}}}),
                 r([[["x", ["y"]]]]),
                 r({"a": [1, {"b": 2}]}, max_depth=1),
                 r({"a": 1, "email": "x"}, max_depth=0),
                 r("Bearer abcdefgh", max_depth=0),
                 r([{"k": "v"}, 5], max_depth=0),
                 r(42, max_depth=0),
                 r({"a": {"b": {"c": {"d": 1}}}}, max_depth=5),
             ]),
    scenario("redact_allowed_fields", "allowed_fields projection: top level and row-wise, not nested; "
             "warnings not de-duplicated", {}, [
                 r({"id": 1, "name": "x", "email": "e", "meta": {"id": 2, "drop": 3}}, ["id", "meta"]),
                 r([{"id": 1, "x": 1}, {"id": 2, "x": 2}, {"x": 3}], ["id"]),
                 r([[{"id": 1, "x": 1}]], ["id"]),
                 r({"id": 1, "x": 1}, []),
                 r({"email": "e", "id": 1}, ["email"]),
                 r("plain string", ["id"]),
                 r({"id": 1, "x": {"y": 1}, "z": [1]}, ["ID"]),
             ]),
    scenario("summarize_list_of_dicts", "row summaries: top keys, numeric stats, bool counts, "
             "distributions", {}, [
                 s(ROWS),
                 s([{"score": 10}, {"score": 20}, {"score": 30}]),
                 s([{"active": True}, {"active": True}, {"active": False}]),
                 s([{"a": 1, "b": "x"}, {"a": None, "b": "y"}, {"b": "x"}]),
                 s([{"n": 1}, {"n": 2.5}, {"n": True}]),
                 s([{"v": str(i)} for i in range(11)]),
                 s([{"v": str(i)} for i in range(10)]),
                 s([{"v": "same"}, {"v": "same"}]),
                 s([{"v": "b"}, {"v": "a"}, {"v": "B"}, {"v": "é"}, {"v": 1}, {"v": None}]),
                 s([{"k%d" % i: i for i in range(12)}]),
                 s([{"x": 1}] * 10 + [{"late": 5, "x": 2}]),
                 s([{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}]),
                 s([{"t": "x", "f": 1.005}, {"t": "y", "f": 2.675}, {"t": "x", "f": -0.5}]),
                 s([{}]),
                 s([{"m": [1]}, {"m": {"a": 1}}]),
             ]),
    scenario("summarize_dict", "dict summaries: Keys line (sorted) and one fact per value type",
             {}, [
                 s({"a": 1, "b": 2}, max_facts=3),
                 s({"int": 42, "float": 1.5, "big": 1e16, "small": 1e-05, "whole": 3.0,
                    "bool": True, "none": None, "str": "x" * 100, "list": [1, 2, 3],
                    "dict": {"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6},
                    "empty_list": [], "empty_dict": {}, "neg": -0.0, "uni": "é😀"}),
                 s({"z": 1, "B": 2, "a": 3, "é": 4, "_": 5}),
                 s({"k%02d" % i: i for i in range(25)}),
                 s({"k%02d" % i: i for i in range(25)}, max_facts=5),
                 s({}),
                 s({"q": "it's \"quoted\"", "n": None}),
             ]),
    scenario("summarize_other", "plain lists, strings, scalars and max_facts truncation",
             {}, [
                 s([]), s([1, "two", None, [3], {"k": "v"}, 1.0, True, "it's", "é\u007f"]),
                 s(list(range(25))), s(list(range(25)), max_facts=3),
                 s([1, {"a": 1}]), s(["x" * 150]),
                 s("short string"), s("y" * 501), s("z" * 500), s("é" * 600),
                 s(42), s(3.0), s(1e16), s(True), s(None), s(-0.0), s(0.1),
                 s([1, 2], max_facts=0), s("text", max_facts=0), s(7, max_facts=0),
                 s({"a": 1, "b": 2}, max_facts=1), s([1, 2], max_facts=1),
                 s({"a": 1, "b": 2}, max_facts=2),
             ]),
    scenario("transform_modes", "Firewall.transform directly: each mode, admin gate warning, "
             "caps, max_rows coercion", {}, [
                 t(ROWS, "summary"), t(ROWS, "table", constraints={"max_rows": 2}),
                 t(ROWS, "table", constraints={"max_rows": "3"}),
                 t(ROWS, "table", constraints={"max_rows": 2.9, "allowed_fields": ["id", "name"]}),
                 t(ROWS, "handle_only", constraints={"allowed_fields": ["id"]}),
                 t(ROWS, "raw", roles=["reader"]),
                 t(ROWS, "raw", roles=["admin"], budgets={"max_chars": 100}),
                 t(ROWS[:1], "raw", roles=["admin"]),
                 t({"a": 1}, "table"), t(5, "table"), t([1, {"a": 1}], "table"),
                 t([{"k%d" % i: i for i in range(5)}], "table", budgets={"max_fields": 3}),
                 t(ROWS, "table", constraints={"max_rows": "abc"}),
                 t(ROWS, "summary", budgets={"max_chars": 40}),
                 t(ROWS, "summary", budgets={"max_chars": 0}),
                 t(ROWS, "bogus"),
                 t({"note": BEARER}, "summary"),
                 t(ROWS, "table", constraints={"max_rows": -1}),
             ]),
]
