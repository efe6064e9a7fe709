"""Fixtures: a real `capgate serve` (binary from CAPGATE_BIN) with a dev PKI and agent certificates.

Every wait is bounded and observes the sidecar (its log line, or the client's answer); nothing
sleeps to synchronize.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from capgate._sidecar import PKI, Identity, Sidecar, SidecarConfig, capgate_binary, write_secret

SECRET = "capgate-python-client-test-secret"

AGENTS = {
    # name: (principal_id, roles, attributes)
    "alice": ("alice", ["reader"], {"tenant": "acme"}),
    "bob": ("bob", ["reader"], {"tenant": "acme"}),
    "wendy": ("wendy", ["writer"], {"tenant": "acme"}),
    "ops": ("ops", ["admin"], {"tenant": "acme"}),
    "auditor": ("auditor", ["auditor"], {}),
}

CAPABILITIES = [
    {"capability_id": "billing.list_invoices", "name": "List Invoices",
     "description": "List all invoices for a customer", "safety_class": "READ", "sensitivity": "PII",
     "allowed_fields": ["id", "amount", "currency", "status", "date"],
     "tags": ["billing", "invoices", "list"], "drivers": ["billing"]},
    {"capability_id": "billing.summarize_spend", "name": "Summarize Spend",
     "description": "Summarize total spend by currency and status", "safety_class": "READ",
     "tags": ["billing", "summary", "spend"], "drivers": ["billing"]},
    {"capability_id": "tasks.create", "name": "Create Task", "description": "Create a task",
     "safety_class": "WRITE", "tags": ["tasks", "create"], "drivers": ["tasks"]},
    {"capability_id": "tasks.purge", "name": "Purge Tasks", "description": "Delete every task",
     "safety_class": "DESTRUCTIVE", "tags": ["tasks", "purge"], "drivers": ["tasks"]},
]


@dataclass
class Agent:
    name: str
    cert: str
    key: str


@dataclass
class Deployment:
    """One running sidecar and what a test needs to talk to it."""

    sidecar: Sidecar
    pki: PKI
    config: SidecarConfig
    config_path: str
    agents: dict[str, Agent]

    @property
    def url(self) -> str:
        return self.sidecar.url

    def agent(self, name: str) -> Agent:
        if name not in self.agents:
            cert, key = self.pki.agent(name)
            self.agents[name] = Agent(name, cert, key)
        return self.agents[name]

    def kernel(self, name: str, **kw):
        from capgate import RemoteKernel

        a = self.agent(name)
        return RemoteKernel.connect(self.url, cert=a.cert, key=a.key, ca=self.pki.ca, **kw)

    def write_config(self) -> None:
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(self.config.render())


def deploy(root: str, *, budget_total: int = 0, rate_limits=None, limits=None, extra_toml: str = "") -> Deployment:
    binary = capgate_binary()
    pki = PKI(binary, os.path.join(root, "pki"))
    agents = {}
    identities = []
    for name, (pid, roles, attrs) in AGENTS.items():
        cert, key = pki.agent(name)
        agents[name] = Agent(name, cert, key)
        identities.append(Identity(pki.spiffe_id(name), pid, roles, attrs))
    secret = os.path.join(root, "secret")
    write_secret(secret, SECRET)
    config = SidecarConfig(
        pki=pki, state_dir=os.path.join(root, "state"), secret_file=secret, identities=identities,
        drivers=[{"id": "billing", "type": "billing"},
                 {"id": "tasks", "type": "static",
                  "operations": {"tasks.create": {"created": True}, "tasks.purge": {"purged": 3}}}],
        capabilities=CAPABILITIES, budget_total=budget_total, rate_limits=rate_limits, limits=limits or {},
        extra_toml=extra_toml,
    )
    path = os.path.join(root, "capgate.toml")
    dep = Deployment(Sidecar(binary, path), pki, config, path, agents)
    dep.write_config()
    dep.sidecar.start()
    return dep


@pytest.fixture(scope="session")
def deployment() -> Iterator[Deployment]:
    with tempfile.TemporaryDirectory(prefix="capgate-py-") as root:
        dep = deploy(root, rate_limits={"READ": (1000, 60.0), "WRITE": (1000, 60.0), "DESTRUCTIVE": (1, 60.0)})
        try:
            yield dep
        finally:
            dep.sidecar.stop()


@pytest.fixture()
def fresh_deployment(tmp_path) -> Iterator[Deployment]:
    """A sidecar of its own (budgets, restarts), stopped after the test."""
    # A connection is drained (GOAWAY NO_ERROR) after 40 streams: clients must carry on.
    dep = deploy(str(tmp_path), limits={"maxStreamsPerConnection": 40})
    try:
        yield dep
    finally:
        dep.sidecar.stop()
