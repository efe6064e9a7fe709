"""The drop-in constructor: what it refuses, and the configuration it generates.

(Starting the private sidecar needs `[[driver]] type = "host"` and `capgate pki host` in the
capgate binary; the end-to-end run is the acceptance suite, see README.)"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import pytest
from weaver_kernel import (
    BudgetManager,
    Capability,
    CapabilityRegistry,
    DeclarativePolicyEngine,
    DefaultPolicyEngine,
    Firewall,
    HandleStore,
    HMACTokenProvider,
    SafetyClass,
    SensitivityTag,
    StaticRouter,
    TraceStore,
)
from weaver_kernel.firewall.budgets import Budgets
from weaver_kernel.stores import SQLiteRevocationStore, SQLiteTraceStore

from capgate import RemoteKernel, RemoteTraceStore
from capgate._dropin import PrivateSidecar, check_honourable, plan_config
from capgate._sidecar import Identity


def _registry() -> CapabilityRegistry:
    reg = CapabilityRegistry()
    reg.register(Capability(capability_id="records.read", name="Read", description="Read records",
                            safety_class=SafetyClass.READ, sensitivity=SensitivityTag.PII,
                            allowed_fields=["id"], tags=["records"],
                            parameters_schema={"type": "object", "properties": {"id": {"type": "integer"}}}))
    reg.register(Capability(capability_id="records.drop", name="Drop", description="Drop records",
                            safety_class=SafetyClass.DESTRUCTIVE))
    return reg


class CustomPolicy:
    def evaluate(self, *a, **k):
        raise AssertionError("never called")


class CustomRouter(StaticRouter):
    pass


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"policy": CustomPolicy()}, "policy=CustomPolicy"),
        ({"policy": DeclarativePolicyEngine.from_dict({"rules": []})}, "policy=DeclarativePolicyEngine"),
        ({"router": CustomRouter()}, "router=CustomRouter"),
        ({"token_provider": HMACTokenProvider("s", revocation_store=SQLiteRevocationStore(":memory:"))},
         "SQLiteRevocationStore revocation store"),
        ({"firewall": Firewall(Budgets(max_rows=5))}, "custom Firewall budgets"),
        ({"handle_store": HandleStore(default_ttl_seconds=5)}, "HandleStore with custom limits"),
        ({"budget_manager": BudgetManager(100, token_counter=lambda v: 1)}, "custom token_counter"),
        ({"trace_store": SQLiteTraceStore(":memory:")}, "trace_store=SQLiteTraceStore"),
    ],
)
def test_refuses_what_the_sidecar_cannot_honour(kwargs, named):
    with pytest.raises(NotImplementedError, match="RemoteKernel cannot honour") as ei:
        RemoteKernel(registry=_registry(), **kwargs)
    assert named in str(ei.value)


def test_a_non_empty_trace_store_is_refused():
    from weaver_kernel import ActionTrace
    import datetime

    store = TraceStore()
    store.record(ActionTrace(action_id="a", capability_id="c", principal_id="p", token_id="t",
                             invoked_at=datetime.datetime.now(datetime.timezone.utc), args={},
                             response_mode="summary", driver_id="d"))
    with pytest.raises(NotImplementedError, match="trace_store=TraceStore"):
        RemoteKernel(registry=_registry(), trace_store=store)


def test_defaults_and_reference_objects_are_accepted():
    provider, router = check_honourable(policy=None, token_provider=None, router=None, firewall=Firewall(),
                                        handle_store=HandleStore(), budget_manager=BudgetManager(1000))
    assert type(provider) is HMACTokenProvider and type(router) is StaticRouter
    assert PrivateSidecar._trace_view(None)._transport is None
    view = RemoteTraceStore()
    assert PrivateSidecar._trace_view(view) is view
    plain = TraceStore()
    PrivateSidecar._trace_view(plain)
    with pytest.raises(NotImplementedError, match="record"):
        plain.record(None)  # the caller's own empty TraceStore became a read view


class _StubPKI:
    ca = "/pki/ca.pem"
    server_cert = "/pki/server.pem"
    server_key = "/pki/server.key"


def test_generated_configuration(tmp_path):
    provider = HMACTokenProvider(secret="the-callers-secret")
    router = StaticRouter(routes={"records.read": ["primary", "backup"]}, fallback=["memory"])
    policy = DefaultPolicyEngine(rate_limits={SafetyClass.READ: (7, 30.0)})
    cfg = plan_config(
        registry=_registry(), policy=policy, token_provider=provider, router=router,
        budget_manager=BudgetManager(5000, default_request=100), pki=_StubPKI(), root=str(tmp_path),
        host_url="https://127.0.0.1:4242", host_identity="spiffe://capgate.local/driver-host/pydrivers",
        sidecar_client=("/pki/agents/sidecar.pem", "/pki/agents/sidecar.key"),
        identities=[Identity("spiffe://capgate.local/agent/p-1", "alice", ["reader"], {"tenant": "acme"})])
    doc = tomllib.loads(cfg.render())
    # the secret the caller's provider signs with, one line, 0600
    secret = tmp_path / "secret"
    assert secret.read_text() == "the-callers-secret\n"
    assert oct(os.stat(secret).st_mode & 0o777) == "0o600"
    assert doc["secret"]["file"] == str(secret)
    # one host driver per routed id, exactly the keys of the driver-host protocol
    assert doc["driver"] == [
        {"id": d, "type": "host", "url": "https://127.0.0.1:4242",
         "identity": "spiffe://capgate.local/driver-host/pydrivers", "ca_file": "/pki/ca.pem",
         "client_certificate": "/pki/agents/sidecar.pem", "client_private_key": "/pki/agents/sidecar.key"}
        for d in ("backup", "memory", "primary")]
    read, drop = doc["capability"]
    assert read == {"capability_id": "records.read", "name": "Read", "description": "Read records",
                    "safety_class": "READ", "sensitivity": "PII", "allowed_fields": ["id"], "tags": ["records"],
                    "drivers": ["primary", "backup"],
                    "parameters_schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    assert drop["drivers"] == ["memory"]  # the router's fallback, as the reference routes it
    assert doc["policy"]["rate_limits"]["READ"] == [7, 30.0]
    assert doc["policy"]["rate_limits"]["DESTRUCTIVE"] == [2, 60.0]
    assert doc["budgets"] == {"total": 5000, "default_request": 100}
    assert doc["identity"] == [{"spiffe_id": "spiffe://capgate.local/agent/p-1", "principal_id": "alice",
                                "roles": ["reader"], "attributes": {"tenant": "acme"}}]
    assert doc["server"]["listen"] == "127.0.0.1:0"


def test_no_budget_manager_means_no_budget(tmp_path):
    cfg = plan_config(registry=_registry(), policy=None, token_provider=HMACTokenProvider("s"),
                      router=StaticRouter(), budget_manager=None, pki=_StubPKI(), root=str(tmp_path),
                      host_url="https://127.0.0.1:1", host_identity="spiffe://x/driver-host/y",
                      sidecar_client=("c", "k"), identities=[])
    doc = tomllib.loads(cfg.render())
    assert doc["budgets"]["total"] == 0 and "policy" not in doc


def test_plugin_swaps_and_reports(tmp_path):
    test = tmp_path / "test_swap.py"
    test.write_text(
        "import weaver_kernel\n"
        "from weaver_kernel import Kernel, TraceStore\n"
        "import capgate\n"
        "def test_swapped():\n"
        "    assert Kernel is capgate.RemoteKernel and TraceStore is capgate.RemoteTraceStore\n"
        "    assert weaver_kernel.kernel.Kernel is capgate.RemoteKernel\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "capgate.pytest_remote", str(test)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert lines[-1] == "capgate: 0 remote kernels, 0 verb calls over the wire"
    assert "1 passed" in lines[-2]
