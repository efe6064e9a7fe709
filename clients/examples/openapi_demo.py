"""grant, invoke, expand and explain against a capgate demo sidecar through a client generated
from docs/openapi.yaml (openapi-python-client; `make openapi-demo` generates it into
.cache/openapi-client and runs this). Nothing here is hand-written wire code: requests are the
generated models, answers are parsed into the generated models, and any answer that is not the
expected typed 200 fails the demo.

Usage: openapi_demo.py BASE_URL PKI_DIR [AGENT]   (PKI_DIR holds ca.pem and agents/AGENT.pem/.key)
"""
import ssl
import sys

from capgate_wire import Client
from capgate_wire.api.default import expand, explain, grant_capability, health, invoke
from capgate_wire.models import (
    ActionTrace, CapabilityGrant, CapabilityRequestInput, ExpandRequest, ExpandRequestQueryType0, ExplainRequest,
    Frame, GrantCapabilityRequest, Health, InvokeRequest, InvokeRequestArgsType0, ResponseMode, TokenInput,
)


def expect(value, model, step):
    if not isinstance(value, model):
        raise SystemExit(f"openapi demo: {step} answered {value!r}, expected {model.__name__}")
    return value


def main() -> None:
    base, pki = sys.argv[1], sys.argv[2]
    agent = sys.argv[3] if len(sys.argv) > 3 else "alice"
    tls = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    tls.load_cert_chain(f"{pki}/agents/{agent}.pem", f"{pki}/agents/{agent}.key")
    # capgate speaks HTTP/2 only; httpx does with its [http2] extra.
    client = Client(base_url=base, verify_ssl=tls, httpx_args={"http2": True}, raise_on_unexpected_status=True)
    with client:
        expect(health.sync(client=client), Health, "health")

        grant = expect(grant_capability.sync(client=client, body=GrantCapabilityRequest(
            request=CapabilityRequestInput(capability_id="billing.list_invoices", goal="list unpaid invoices"),
            justification="monthly report")), CapabilityGrant, "grant_capability")
        print(f"grant: {grant.token.capability_id} for {grant.principal.principal_id}, "
              f"decision {grant.decision.reason!r}, expires {grant.token.expires_at}")

        # The token goes back exactly as granted (its signature covers every field).
        token = TokenInput.from_dict(grant.token.to_dict())
        frame = expect(invoke.sync(client=client, body=InvokeRequest(
            token=token, args=InvokeRequestArgsType0.from_dict({"operation": "list_invoices"}),
            response_mode=ResponseMode.TABLE)), Frame, "invoke")
        print(f"invoke: {frame.response_mode.value}, {len(frame.table_preview)} preview rows, "
              f"handle {frame.handle.handle_id if frame.handle else None} ({frame.handle.total_rows if frame.handle else 0} rows)")
        if not frame.handle:
            raise SystemExit("openapi demo: the invoke answer has no handle to expand")

        page = expect(expand.sync(client=client, body=ExpandRequest(
            handle_id=frame.handle.handle_id, query=ExpandRequestQueryType0.from_dict({"offset": 1, "limit": 2}))),
            Frame, "expand")
        print(f"expand: {len(page.table_preview)} rows: {[r.to_dict() for r in page.table_preview]}")

        trace = expect(explain.sync(client=client, body=ExplainRequest(action_id=frame.action_id)), ActionTrace, "explain")
        print(f"explain: {trace.event_type.value} of {trace.capability_id} by {trace.principal_id} "
              f"at {trace.invoked_at}, driver {trace.driver_id}")
    print("openapi demo: grant, invoke, expand and explain through the generated client")


if __name__ == "__main__":
    main()
