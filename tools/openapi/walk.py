"""The positive paths, deterministically: grant, invoke in every response mode and as a dry
run, expand, explain, query_traces, explain_denial, stats and the admin verbs (kill switches and
status with the refusals they cause), each 200
answer validated against its schema in docs/openapi.yaml (schemathesis' random tokens
rarely get past the signature check, so its invoke/expand answers are mostly errors).

Usage: walk.py DOC URL_AS_ALICE URL_AS_OPS   (plain HTTP through the nghttpx bridges)
"""
import json
import sys
import urllib.request

import jsonschema_rs
import yaml

doc = yaml.safe_load(open(sys.argv[1]))
alice, ops = sys.argv[2], sys.argv[3]
checked = 0


def validate(verb, status, body):
    """Validates `body` against the schema the document gives `verb` for `status`."""
    global checked
    op = doc["paths"]["/v1/" + verb]
    op = op.get("post") or op["get"]
    response = op["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    # The document's local refs resolve inside one resource that carries its components.
    v = jsonschema_rs.Draft202012Validator({"allOf": [schema], "components": doc["components"]})
    errors = list(v.iter_errors(body))
    if errors:
        raise SystemExit(f"walk: {verb} {status} does not conform: {errors[0]}")
    checked += 1


def call(base, verb, body, expect=200):
    req = urllib.request.Request(base + "/v1/" + verb, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, payload = r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        status, payload = e.code, json.loads(e.read())
    if status != expect:
        raise SystemExit(f"walk: {verb} answered {status}, expected {expect}: {payload}")
    validate(verb, status, payload)
    return payload


call(ops, "resume_all", {})  # the admin's schemathesis run may have left everything paused
call(alice, "list_capabilities", {})
call(alice, "request_capabilities", {"goal": "list invoices"})
grant = call(alice, "grant_capability", {"request": {"capability_id": "billing.list_invoices", "goal": "invoices"},
                                         "justification": "monthly report"})
token = grant["token"]
args = {"operation": "list_invoices"}
frames = {m: call(alice, "invoke", {"token": token, "args": args, "response_mode": m}) for m in ["summary", "table", "handle_only", "raw"]}
call(alice, "invoke", {"token": token, "args": args, "dry_run": True})
handle = next(f["handle"] for f in frames.values() if f["handle"])
call(alice, "expand", {"handle_id": handle["handle_id"], "query": {"limit": 2}})
call(alice, "expand", {"handle": handle})
call(alice, "explain", {"action_id": frames["summary"]["action_id"]})
call(alice, "query_traces", {"limit": 5})
call(alice, "explain_denial", {"request": {"capability_id": "tasks.create", "goal": "create"}, "justification": "x"})
call(alice, "grant_capability", {"request": {"capability_id": "tasks.create"}, "justification": "x"}, expect=403)
# invoke_stream: every NDJSON line against StreamLine, the last one final.
req = urllib.request.Request(alice + "/v1/invoke_stream", headers={"content-type": "application/json"}, method="POST",
                             data=json.dumps({"token": token, "args": args, "response_mode": "table"}).encode())
with urllib.request.urlopen(req, timeout=10) as r:
    media = r.headers.get("content-type")
    lines = [json.loads(line) for line in r.read().decode().splitlines() if line]
if media not in doc["paths"]["/v1/invoke_stream"]["post"]["responses"]["200"]["content"] or not lines:
    raise SystemExit(f"walk: invoke_stream answered {media} with {len(lines)} lines")
line_schema = jsonschema_rs.Draft202012Validator({"$ref": "#/components/schemas/StreamLine", "components": doc["components"]})
for line in lines:
    errors = list(line_schema.iter_errors(line))
    if errors:
        raise SystemExit(f"walk: invoke_stream line does not conform: {errors[0]}")
    checked += 1
if lines[-1].get("is_final") is not True:
    raise SystemExit("walk: the last invoke_stream line is not final")
call(alice, "invoke_stream", {"token": token, "args": args, "dry_run": True}, expect=400)
call(alice, "stats", {})
call(alice, "revoke", {"token_id": token["token_id"]}, expect=403)
call(ops, "revoke", {"token_id": token["token_id"]})
call(alice, "invoke", {"token": token, "args": args}, expect=401)
call(ops, "revoke_all", {"principal_id": "alice"})
# The kill switches and status (admin): each answer, and each refusal they cause.
call(alice, "pause_all", {}, expect=403)
call(ops, "pause_capability", {"capability_id": "tasks.list", "reason": "walk"})
call(alice, "grant_capability", {"request": {"capability_id": "tasks.list"}, "justification": "x"}, expect=403)
call(ops, "resume_capability", {"capability_id": "tasks.list"})
call(ops, "pause_principal", {"principal_id": "alice"})
call(alice, "list_capabilities", {}, expect=403)
call(ops, "resume_principal", {"principal_id": "alice"})
call(ops, "pause_all", {"reason": None})
call(alice, "list_capabilities", {}, expect=503)
call(ops, "list_paused", {})
call(ops, "status", {})
call(ops, "resume_all", {})
with urllib.request.urlopen(alice + "/v1/health", timeout=10) as r:
    validate("health", 200, json.loads(r.read()))
print(f"walk: {checked} answers conform to docs/openapi.yaml")
