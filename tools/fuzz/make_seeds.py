#!/usr/bin/env python3
"""Writes the named seed corpora under fuzz/corpus/<target>/ (and the dictionaries).

Seeds are committed; rerun this after changing a target's input format:
    .venv/bin/python tools/fuzz/make_seeds.py
Needs `cryptography` for the certificate seeds (`make fuzz-seeds` installs it).
"""
import datetime
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "fuzz", "corpus")
VERBS = ["list_capabilities", "request_capabilities", "grant_capability", "invoke", "expand", "explain",
         "explain_denial", "revoke", "revoke_all", "query_traces", "stats", "invoke_stream"]


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


TOKEN = {"token_id": "5c0a4d1e-8a7b-4c9d-9e2f-0123456789ab", "capability_id": "billing.list_invoices",
         "principal_id": "alice", "issued_at": "2026-11-29T08:00:00+00:00",
         "expires_at": "2026-11-29T09:00:00.123456+00:00", "constraints": {"max_rows": 50, "allowed_fields": ["id"]},
         "audit_id": "aud", "signature": "0" * 64}
REQUEST = {"capability_id": "billing.list_invoices", "goal": "list invoices", "constraints": {"max_rows": 5},
           "intent": "lookup", "scope": {"region": "eu"}}


def json_seeds():
    seeds = {
        "object_nested.json": {"a": [1, 2.5, -0, 1e300, "x\u00e9\U0001F600", None, True, False], "b": {"c": {}}},
        "invoke_body.json": {"token": TOKEN, "args": {"operation": "list_invoices", "status": "unpaid"},
                             "response_mode": "table", "dry_run": False},
        "empty_array.json": [],
        "scalar_string.json": "just a string",
    }
    for name, v in seeds.items():
        write("json", name, json.dumps(v))
    write("json", "escapes.json", r'{"s":"\u0041\n\t\"\\\/\ud83d\ude00\u00e9"}')
    write("json", "duplicate_key.json", '{"a":1,"a":2}')
    write("json", "big_int.json", "[9223372036854775807, -9223372036854775808, 9223372036854775808]")
    write("json", "lone_surrogate.json", '"\\ud800"')
    write("json", "deep.json", "[" * 70 + "]" * 70)
    write("json", "whitespace_numbers.json", " \t\n[0, -1, 1.5e-7, 2E+3, 0.0]\r\n")
    write("json", "invalid_utf8.json", b'"\xc3\x28"')
    write("json", "trailing_comma.json", "[1,2,]")


def wire_seeds():
    bodies = {
        "list_capabilities": {},
        "request_capabilities": {"goal": "list unpaid invoices", "context_tags": {"team": "x"}},
        "grant_capability": {"request": REQUEST, "justification": "monthly report for finance",
                             "principal": {"principal_id": "alice", "roles": ["admin"], "attributes": {}}},
        "invoke": {"token": TOKEN, "args": {"operation": "list_invoices"}, "response_mode": "summary",
                   "dry_run": True},
        "expand": {"handle_id": "h-1", "query": {"offset": 0, "limit": 5, "fields": ["id"], "filter": {"a": 1}}},
        "explain": {"action_id": "a-1"},
        "explain_denial": {"request": REQUEST},
        "revoke": {"token_id": "t-1"},
        "revoke_all": {"principal_id": "alice"},
        "query_traces": {"principal_id": "alice", "event_type": "deny", "outcome": "failed", "limit": 10,
                         "offset": 0, "since": "2026-11-29T00:00:00Z"},
        "stats": {},
        "invoke_stream": {"token": TOKEN, "args": {"operation": "list_invoices"}, "response_mode": "table",
                          "principal": {"principal_id": "alice"}},
    }
    verbs = [v for v in VERBS]
    for verb, body in bodies.items():
        write("wire_request", f"{verb}.bin", bytes([verbs.index(verb)]) + json.dumps(body).encode())
    write("wire_request", "invoke_unknown_field.bin",
          bytes([verbs.index("invoke")]) + json.dumps({"token": TOKEN, "extra": 1}).encode())
    write("wire_request", "invoke_stream_dry_run.bin",
          bytes([verbs.index("invoke_stream")]) + json.dumps({"token": TOKEN, "dry_run": True}).encode())
    write("wire_request", "expand_handle_object.bin",
          bytes([verbs.index("expand")]) + json.dumps({"handle": {"handle_id": "h", "principal_id": ""}}).encode())
    with open(os.path.join(ROOT, "wire_request.dict"), "w") as f:
        for w in sorted(set(list(bodies) + ["token", "args", "response_mode", "dry_run", "principal", "principal_id",
                                            "handle_id", "handle", "query", "request", "justification", "goal",
                                            "capability_id", "constraints", "intent", "scope", "summary", "table",
                                            "handle_only", "raw", "true", "false", "null"])):
            f.write(f'"{w}"\n')
        for p in ['"{"', '"}"', '"["', '"]"', '":"', '","', '"\\""', '"\\\\u"']:
            f.write(p + "\n")


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_literal(name, value):
    # Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2).
    n, v = name.encode(), value.encode()
    assert len(n) < 127 and len(v) < 127
    return b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v


def request(stream, path, body, method="POST", ctype="application/json", extra=()):
    hdrs = (hpack_literal(":method", method) + hpack_literal(":scheme", "https") + hpack_literal(":path", path)
            + hpack_literal(":authority", "localhost"))
    if ctype:
        hdrs += hpack_literal("content-type", ctype)
    for n, v in extra:
        hdrs += hpack_literal(n, v)
    if body is None:
        return frame(1, 0x5, stream, hdrs)
    return frame(1, 0x4, stream, hdrs) + frame(0, 0x1, stream, body)


def h2_seeds():
    settings = frame(4, 0, 0, b"")
    ack = frame(4, 1, 0, b"")
    body = json.dumps({"goal": "list invoices"}).encode()
    write("h2_session", "one_request.bin", settings + ack + request(1, "/v1/request_capabilities", body))
    write("h2_session", "two_streams.bin", settings + request(1, "/v1/stats", b"{}") + request(3, "/v1/health", None,
                                                                                               method="GET"))
    write("h2_session", "rst_after_headers.bin", settings + frame(1, 0x4, 1, hpack_literal(":method", "POST"))
          + frame(3, 0, 1, struct.pack(">I", 8)))
    write("h2_session", "continuation.bin", settings + frame(1, 0x0, 1, hpack_literal(":method", "POST"))
          + frame(9, 0x0, 1, hpack_literal(":path", "/v1/stats")) + frame(9, 0x4, 1, hpack_literal(":scheme", "https")))
    write("h2_session", "ping_window_update.bin", settings + frame(6, 0, 0, b"\0" * 8) + frame(8, 0, 0,
                                                                                             struct.pack(">I", 1000)))
    write("h2_session", "unknown_verb_and_bad_type.bin", settings + request(1, "/v1/nope", b"{}")
          + request(3, "/v1/stats", b"{}", ctype="text/plain"))
    write("h2_session", "many_headers.bin", settings + request(1, "/v1/stats", b"{}",
                                                               extra=[(f"x-h{i}", "v") for i in range(120)]))
    write("h2_session", "goaway.bin", settings + frame(7, 0, 0, struct.pack(">II", 0, 0)))
    with open(os.path.join(ROOT, "h2_session.dict"), "w") as f:
        for w in [":method", ":path", ":scheme", ":authority", "content-type", "content-length", "application/json",
                  "POST", "GET", "/v1/invoke", "/v1/stats", "/v1/health", "https"]:
            f.write(f'"{w}"\n')
        # HPACK (RFC 7541 Appendix A) indexed fields: :method GET/POST, :path /,
        # :scheme http/https, :status 200, content-type as a literal with an indexed name,
        # and a dynamic-table size update; then empty frames of each type.
        for b in [b"\x82", b"\x83", b"\x84", b"\x86", b"\x87", b"\x88", b"\x5f", b"\x0f\x10", b"\x3f\xe1\x1f",
                  b"\x20", b"\x44", b"\x04", b"\x41"]:
            f.write('"' + "".join(f"\\x{c:02x}" for c in b) + '"\n')
        for t in range(10):
            f.write('"' + "".join(f"\\x{c:02x}" for c in frame(t, 0, 1, b"")) + '"\n')


def cert_seeds():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)

    def leaf(name, uris, ca=False, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,), ku=True):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seed ca")]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if uris:
            b = b.add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]),
                                critical=False)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        if ku:
            b = b.add_extension(x509.KeyUsage(True, False, False, False, False, ca, ca, False, False), critical=True)
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    write("peer_identity", "good_agent.der", b"\x00" + leaf("alice", ["spiffe://capgate.local/agent/alice"]))
    write("peer_identity", "two_uri_sans.der", b"\x00" + leaf("x", ["spiffe://td/a", "spiffe://td/b"]))
    write("peer_identity", "no_uri_san.der", b"\x00" + leaf("x", []))
    write("peer_identity", "leaf_is_ca.der", b"\x00" + leaf("x", ["spiffe://td/a"], ca=True))
    write("peer_identity", "server_auth_only.der",
          b"\x00" + leaf("x", ["spiffe://td/a"], eku=(ExtendedKeyUsageOID.SERVER_AUTH,)))
    write("peer_identity", "http_uri.der", b"\x00" + leaf("x", ["https://td/a"]))
    for name, text in {"id_good": "spiffe://capgate.local/agent/alice", "id_dotdot": "spiffe://td/a/../b",
                       "id_port": "spiffe://td:443/a", "id_upper": "spiffe://TD/a", "id_query": "spiffe://td/a?x=1",
                       "id_percent": "spiffe://td/a%2Fb", "id_empty_path": "spiffe://td"}.items():
        write("peer_identity", name + ".txt", b"\x01" + text.encode())


def config_seeds():
    server = '''[server]
listen = "127.0.0.1:8443"
state_dir = "state"
[tls]
certificate = "pki/server.pem"
private_key = "pki/server.key"
trust_bundle = "pki/ca.pem"
[secret]
file = "secret"
[[identity]]
spiffe_id = "spiffe://capgate.local/agent/alice"
principal_id = "alice"
roles = ["reader"]
attributes = { tenant = "acme" }
[[identity]]
spiffe_prefix = "spiffe://capgate.local/service/"
principal_id = "svc-{name}"
[[driver]]
id = "billing"
type = "billing"
[[driver]]
id = "tasks"
type = "static"
[driver.operations_json]
"tasks.list" = '[{"id": 1, "title": "Buy milk", "done": false}]'
[[capability]]
capability_id = "billing.list_invoices"
name = "List Invoices"
description = "List all invoices"
safety_class = "READ"
sensitivity = "PII"
allowed_fields = ["id", "amount"]
drivers = ["billing"]
[policy]
engine = "default"
[policy.rate_limits]
READ = [60, 60.0]
[limits]
maxConcurrentStreams = 50
[limits.resetBudget]
burst = 100
per_second = 10.0
'''
    write("config", "server.toml", b"\x00" + server.encode())
    write("config", "server_bad_key.toml", b"\x00" + server.replace("[limits]", "[limits]\nnoSuchLimit = 1").encode())
    policy_toml = '''default = "deny"
[[rules]]
name = "reads-ok"
action = "allow"
[rules.match]
safety_class = ["READ"]
sensitivity = ["NONE"]
[[rules]]
name = "eu-support"
action = "allow"
constraints = { max_rows = 20, allowed_fields = ["id", "status"] }
[rules.match]
roles = ["support"]
intent = ["customer_lookup"]
scope = { region = "eu" }
attributes = { tenant = "*" }
min_justification = 10
[[rules]]
name = "no-secrets"
action = "deny"
reason = "secrets are off-limits"
[rules.match]
sensitivity = ["SECRETS"]
'''
    write("config", "policy.toml", b"\x01" + policy_toml.encode())
    policy_yaml = '''default: deny
rules:
  - name: reads-ok
    action: allow
    match: {safety_class: [READ], sensitivity: [NONE]}
  - name: eu-support
    action: allow
    match: {roles: [support], intent: [customer_lookup], scope: {region: eu}, attributes: {tenant: "*"}}
    constraints: {max_rows: 20, allowed_fields: [id, status]}
  - name: no-secrets
    action: deny
    match: {sensitivity: [SECRETS]}
    reason: secrets are off-limits
'''
    write("config", "policy.yaml", b"\x02" + policy_yaml.encode())
    write("config", "policy_yaml_off.yaml", b"\x02" + b"default: off\nrules: []\n")
    write("config", "policy.json", b"\x03" + json.dumps({"default": "allow", "rules": [
        {"name": "r", "action": "deny", "match": {"roles": ["guest"]}}]}).encode())
    write("config", "policy_bad_sensitivity.json", b"\x03" + json.dumps({"rules": [
        {"action": "allow", "match": {"sensitivity": "PII"}}]}).encode())


def token_seeds():
    write("token_expand", "token.json", b"\x00" + json.dumps(TOKEN).encode())
    t = dict(TOKEN, issued_at="2026-11-29T13:30:00+05:30", constraints={"é": [1.0, 1e-05, "\U0001F600"]})
    write("token_expand", "token_unicode_offset.json", b"\x00" + json.dumps(t).encode())
    write("token_expand", "token_missing_fields.json", b"\x00" + json.dumps({"token_id": "x"}).encode())
    for name, q in {"page": {"offset": 2, "limit": 5}, "fields": {"fields": ["id", "name"]},
                    "filter_scope_conflict": {"filter": {"region": "us"}}, "limit_over": {"limit": 11},
                    "bad_types": {"filter": [1], "fields": "id"}, "string_limit": {"limit": "5", "offset": " 1_0 "},
                    "secret_field": {"fields": ["secret"]}}.items():
        write("token_expand", f"query_{name}.json", b"\x01" + json.dumps(q).encode())
    write("token_expand", "query_other_principal.json", b"\x03" + json.dumps({"limit": 1}).encode())


def json_dict():
    with open(os.path.join(ROOT, "json.dict"), "w") as f:
        for w in ["{", "}", "[", "]", ":", ",", '"', "\\", "\\u", "\\ud800", "\\udc00", "true", "false", "null",
                  "-", "0.", "e+", "E-", "1e400", "9223372036854775808", "\ufeff", "\x00"]:
            f.write('"' + "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else f"\\x{b:02x}"
                                  for c in w for b in c.encode()) + '"\n')


def toml_seeds():
    write("toml", "policy_rules.toml", """# a DSL policy file
default = "deny"
[[rules]]
name = "readers may read"
effect = "allow"
[rules.match]
roles = ["reader", 'admin']
safety_class = ["READ"]
[rules.constraints]
max_rows = 50
allowed_fields = ["id", "name"]
""")
    write("toml", "all_scalars.toml", 'i = -1_000\nh = 0xDEAD_beef\no = 0o755\nb = 0b1010\nf = 6.626e-34\n'
          'g = -0.0\ninf1 = -inf\nnan1 = +nan\nt = true\ns = "tab\\t \\u00e9 \\U0001F600"\nl = \'C:\\path\'\n')
    write("toml", "multiline_strings.toml", 's = """\nline one \\\n   continued"""\nl = \'\'\'\nraw \\n\'\'\'\n')
    write("toml", "dotted_and_inline.toml", 'a.b.c = 1\n"quoted key".x = 2\nt = { x = 1, y = [1, [2, 3]], z = {} }\n')
    write("toml", "array_of_tables.toml", "[[t]]\nx = 1\n[[t]]\nx = 2\n[t.sub]\ny = 3\n")
    write("toml", "duplicate_key.toml", "a = 1\na = 2\n")
    write("toml", "table_redefined.toml", "[a]\nx = 1\n[a]\ny = 2\n")
    write("toml", "extend_inline.toml", "a = {x = 1}\n[a.b]\n")
    write("toml", "int_overflow.toml", "a = 9223372036854775808\n")
    write("toml", "datetime.toml", "a = 1979-05-27T07:32:00Z\n")
    write("toml", "crlf_and_comments.toml", "# c\r\n[s] # c\r\nk = 'v' # c\r\n")
    with open(os.path.join(ROOT, "toml.dict"), "w") as f:
        for w in ["[", "]", "[[", "]]", "=", ".", ",", "{", "}", "#", '"', "'", '"""', "\'\'\'", "\\", "\\u", "\\U",
                  "true", "false", "inf", "nan", "0x", "0o", "0b", "_", "e", "\n", "\r\n"]:
            f.write('"' + "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else f"\\x{ord(c):02x}" for c in w)
                    + '"\n')


def spiffe_seeds():
    for name, s in {"agent_alice": "spiffe://example.org/agent/alice", "exact_admin": "spiffe://example.org/agent/admin",
                    "team_member": "spiffe://example.org/agent/team/blue", "agent_bare_prefix": "spiffe://example.org/agent",
                    "agentx_not_under_prefix": "spiffe://example.org/agentx/y", "dot_segment": "spiffe://td/a/../b",
                    "empty_segment": "spiffe://td/a//b", "trailing_slash": "spiffe://td/a/", "percent": "spiffe://td/a%2Fb",
                    "uppercase_domain": "spiffe://TD/a", "port": "spiffe://td:443/a", "userinfo": "spiffe://u@td/a",
                    "query": "spiffe://td/a?x=1", "no_path": "spiffe://td", "wrong_scheme": "SPIFFE://td/a",
                    "long_domain": "spiffe://" + "a" * 256 + "/x"}.items():
        write("spiffe_id", name + ".txt", s)
    with open(os.path.join(ROOT, "spiffe_id.dict"), "w") as f:
        for w in ["spiffe://", "example.org", "/agent", "/agent/team/", "/admin", "/", ".", "..", "%", ":", "@", "?", "#"]:
            f.write(f'"{w}"\n')


def timestamp_seeds():
    for name, s in {"utc_offset": "2026-11-29T08:00:00+00:00", "micro_offset": "2026-11-29T09:00:00.123456+00:00",
                    "zulu": "2026-11-29T00:00:00Z", "india_offset": "2026-11-29T13:30:00+05:30",
                    "negative_offset_seconds": "2026-11-29T13:30:00-05:30:15", "naive_space": "2026-11-29 13:30",
                    "date_only": "2024-02-29", "not_leap": "2023-02-29", "millis_comma": "2026-01-01T00:00:00,5",
                    "seven_digits": "2026-01-01T00:00:00.1234567", "year_one": "0001-01-01T00:00-01:00",
                    "year_max": "9999-12-31T23:59:59.999999-23:59", "hour_24": "2026-01-01T24:00"}.items():
        write("timestamp", name + ".txt", s)
    with open(os.path.join(ROOT, "timestamp.dict"), "w") as f:
        for w in ["-", ":", "T", " ", ".", ",", "Z", "+", "+00:00", "-23:59", "0000", "9999", "02-29", "12-31"]:
            f.write(f'"{w}"\n')


HTTP_STATUSES = [200, 201, 204, 299, 300, 301, 304, 399, 400, 404, 413, 429, 499, 500, 502, 599, 600, 100, 0]


def http_response_seeds():
    """fuzz/Sources/CapgateFuzzing/FuzzHTTPResponse.swift: status index, format|limit, content type, chunk."""
    def seed(name, status, body, text=False, limit16=0, ctype=b"application/json", chunk=0):
        head = bytes([HTTP_STATUSES.index(status), (limit16 << 1) | int(text), len(ctype)]) + ctype + bytes([chunk])
        write("http_response", name, head + (body if isinstance(body, bytes) else body.encode()))
    seed("ok_json_object", 200, json.dumps({"rows": [{"id": 1, "name": "a"}], "next": None}))
    seed("ok_json_chunked_3", 200, json.dumps({"a": [1, 2.5, "x\u00e9"]}), chunk=3)
    seed("ok_json_empty_null", 204, b"")
    seed("ok_json_invalid", 200, b"<html>oops</html>", ctype=b"text/html; charset=utf-8")
    seed("ok_json_invalid_no_ctype", 200, b"{\"a\":", ctype=b"")
    seed("ok_text_utf8_invalid", 200, b"caf\xc3\xa9 \xff\xfe end", text=True)
    seed("redirect_json", 301, b'{"moved": true}')
    seed("error_404_short", 404, b"not found")
    seed("error_500_long", 500, b"x" * 700, chunk=100)
    seed("error_502_multibyte_split", 502, "\u00e9\U0001F600" * 120, chunk=7)
    seed("error_combining_first", 400, "\u0301abc")
    seed("limit_exact", 200, b"[" + b"1," * 23 + b"1]", limit16=3)
    seed("limit_over", 200, b"[" + b"1," * 40 + b"1]", limit16=3, chunk=5)
    seed("status_600", 600, b"[]")


def host_stream_seeds():
    """FuzzHostAnswer: a whole /v1/execute_stream body (NDJSON) after the cap byte."""
    def seed(name, first, lines):
        write("host_answer", name, bytes([first]) + lines.encode())
    seed("stream-body-two-chunks-end", 0x85, '{"chunk":{"a":1}}\n{"chunk":{"b":[1,2]}}\n{"end":true}\n')
    seed("stream-body-error-mid", 0x83, '{"chunk":{"a":1}}\n{"error":{"type":"ValueError","message":"bad"}}\n')
    seed("stream-body-blank-lines", 0x80, '\n\n{"end":true}\n\n')
    seed("stream-body-torn-last", 0x8f, '{"chunk":{"a":1}}\n{"chu')
    seed("stream-body-line-over-cap", 0x04, '{"chunk":{"a":"0123456789012345678901234567890123456789"}}\n{"end":true}\n')


def audit_rows_seeds():
    """FuzzAuditRecord rows mode: 0x01, then NUL-separated checkpoint and (seq, prev, hash, payload) rows."""
    trace = {"action_id": "a1", "capability_id": "billing.list_invoices", "principal_id": "alice",
             "token_id": "t1", "invoked_at": "2026-01-02T03:04:05.123456+00:00", "response_mode": "summary",
             "driver_id": "billing", "handle_id": None, "sensitivity": "PII", "status": "succeeded",
             "event_type": "invoke", "reason_code": None, "error": None, "args": {"region": "eu"},
             "result_summary": {"rows": 3}, "correction": None}

    def seed(name, checkpoint, rows):
        fields = list(checkpoint)
        for r in rows:
            fields += [r[0], r[1], r[2], json.dumps(r[3]) if not isinstance(r[3], str) else r[3]]
        write("audit_record", name, b"\x01" + "\x00".join(fields).encode())
    t2 = dict(trace, action_id="a2", status="failed", error="denied", event_type="grant_denied")
    seed("rows-valid-chain", ("0", ""), [("0", "=", "=", trace), ("1", "=", "=", t2), ("", "=", "=", {"x": 1})])
    seed("rows-from-checkpoint", ("7", "ab" * 32), [("7", "=", "=", trace), ("8", "=", "=", t2)])
    seed("rows-gap", ("0", ""), [("0", "=", "=", trace), ("2", "=", "=", t2)])
    seed("rows-broken-link", ("0", ""), [("0", "=", "=", trace), ("1", "0" * 64, "=", t2)])
    seed("rows-tampered-hash", ("0", ""), [("0", "=", "f" * 64, trace)])
    seed("rows-payload-not-object", ("0", ""), [("0", "=", "=", "[1,2]")])
    seed("rows-huge-seq", ("0", ""), [("9223372036854775806", "=", "=", trace), ("", "=", "=", t2)])


def revocation_seeds():
    """FuzzRevocationLog: the bytes are a revocations.log (AgentKernel/Tokens/FileRevocationStore.swift)."""
    header = '{"format":"capgate-revocations","version":1}\n'
    ev = lambda **kw: json.dumps(kw, separators=(",", ":")) + "\n"
    track = ev(op="track", principal_id="alice", token_id="t1", expires_at="2026-11-29T09:00:00+00:00")
    write("revocation_log", "empty", b"")
    write("revocation_log", "header_only", header)
    write("revocation_log", "revoke_and_track", header + ev(op="revoke", token_id="t0") + track)
    write("revocation_log", "revoke_all_then_sweep", header + track
          + ev(op="track", principal_id="alice", token_id="t2", expires_at="2030-01-01T00:00:00+00:00")
          + ev(op="revoke_all", principal_id="alice") + ev(op="sweep", now="2027-01-01T00:00:00+00:00"))
    write("revocation_log", "expiry_line", header + ev(op="expiry", token_id="t3", expires_at="2026-01-01T00:00:00.5+00:00"))
    write("revocation_log", "torn_last_line", header + ev(op="revoke", token_id="t0") + '{"op":"rev')
    write("revocation_log", "torn_header", '{"format":"capgate-rev')
    write("revocation_log", "bad_header", '{"format":"other","version":1}\n')
    write("revocation_log", "unknown_op", header + ev(op="unrevoke", token_id="t0"))
    write("revocation_log", "bad_datetime", header + ev(op="sweep", now="yesterday"))
    write("revocation_log", "compaction_1100_events", header + "".join(
        ev(op="track", principal_id=f"p{i % 7}", token_id=f"t{i}", expires_at="2026-11-29T09:00:00+00:00")
        for i in range(1100)) + ev(op="revoke_all", principal_id="p3") + ev(op="sweep", now="2026-11-29T09:00:00+00:00"))
    with open(os.path.join(ROOT, "revocation_log.dict"), "w") as f:
        for w in ['"op"', '"token_id"', '"principal_id"', '"expires_at"', '"now"', '"revoke"', '"track"',
                  '"revoke_all"', '"sweep"', '"expiry"', '{"format":"capgate-revocations","version":1}\n',
                  '"2026-11-29T09:00:00+00:00"', "\n"]:
            f.write('"' + w.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\x0A") + '"\n')


SEEDS = {"json": json_seeds, "json_dict": json_dict, "wire": wire_seeds, "h2": h2_seeds, "cert": cert_seeds,
         "config": config_seeds, "token": token_seeds, "toml": toml_seeds, "spiffe": spiffe_seeds,
         "timestamp": timestamp_seeds, "http_response": http_response_seeds, "host_stream": host_stream_seeds,
         "audit_rows": audit_rows_seeds, "revocation": revocation_seeds}

if __name__ == "__main__":
    # No argument: every corpus. Names (e.g. `toml h2`) regenerate only those, so the
    # certificate seeds (fresh keys each run) need not churn.
    import sys
    for name in sys.argv[1:] or SEEDS:
        SEEDS[name]()
    print("seeds written under", os.path.normpath(ROOT))
