"""The drop-in ``RemoteKernel(registry, ...)``: a private sidecar that mirrors an in-process setup.

From the reference constructor's arguments it generates one `capgate serve` configuration:

* ``[[capability]]`` from the registry, each routed to the drivers the router names;
* one ``[[driver]] type = "host"`` per routed driver id, all pointing at this kernel's own
  in-process ``DriverHost``, which serves whatever ``register_driver`` gives it (later too);
* ``[secret]`` = the token provider's secret, so tokens the caller mints with its own
  ``HMACTokenProvider`` verify in the sidecar;
* ``[policy.rate_limits]`` from a ``DefaultPolicyEngine``; ``[budgets]`` from a ``BudgetManager``;
* ``[[identity]]``: one certificate per distinct ``Principal`` (id, roles, attributes). A
  principal appears at call time: its certificate is issued then (``capgate pki issue``), the
  rule is appended and the sidecar reloads it (SIGHUP, confirmed on its log). Certificates and
  rules are shared by the private sidecars of one process, so the second kernel of a test
  session starts with the principals the first one met and needs no reload for them.

What the sidecar cannot honour raises NotImplementedError naming it, never a local fallback.
Every such kernel has its own sidecar process (own state), so tests stay isolated.
"""

from __future__ import annotations

import atexit
import glob
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import weakref
from typing import Any

from weaver_kernel.firewall.budget_manager import BudgetManager
from weaver_kernel.firewall.budgets import Budgets
from weaver_kernel.firewall.transform import Firewall
from weaver_kernel.handles import HandleStore
from weaver_kernel.models import Principal
from weaver_kernel.policy import DefaultPolicyEngine
from weaver_kernel.router import StaticRouter
from weaver_kernel.stores.memory import InMemoryRevocationStore
from weaver_kernel.tokens import HMACTokenProvider
from weaver_kernel.trace import TraceStore

from ._sidecar import PKI, Identity, Sidecar, SidecarConfig, SidecarError, capgate_binary, run_capgate, write_secret
from ._transport import Transport
from .trace_view import RemoteTraceStore

HOST_NAME = "pydrivers"
AUDITOR = Principal("capgate-auditor", ["auditor"], {})
ADMIN = Principal("capgate-admin", ["admin"], {})

# What the pytest plugin reports.
STARTED: dict[str, Any] = {"kernels": 0, "startup_seconds": 0.0, "each": []}
_LIVE: "weakref.WeakSet[PrivateSidecar]" = weakref.WeakSet()


def close_all() -> None:
    """Stops every private sidecar still running (end of a test session, interpreter exit)."""
    for p in list(_LIVE):
        p.close()


atexit.register(close_all)


def _principal_key(p: Principal) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    return (p.principal_id, tuple(p.roles), tuple(sorted((str(k), str(v)) for k, v in p.attributes.items())))


def _agent_name(key: tuple[Any, ...]) -> str:
    return "p-" + hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]


class _ProcessPKI:
    """One dev PKI per process (CA, server, driver-host and sidecar-client certificates, agent
    certificates per principal), removed at exit."""

    _lock = threading.Lock()
    _instance: _ProcessPKI | None = None

    def __init__(self) -> None:
        self.binary = capgate_binary()
        self.root = tempfile.mkdtemp(prefix="capgate-dropin-")
        atexit.register(self._cleanup)
        self.pki = PKI(self.binary, os.path.join(self.root, "pki"))
        self.sidecar_client = self.pki.agent("sidecar")
        self.host_cert, self.host_key = self._issue_host()
        self.host_identity = f"spiffe://{self.pki.trust_domain}/driver-host/{HOST_NAME}"
        self.known: dict[tuple[Any, ...], Identity] = {}
        self.known_lock = threading.Lock()
        for p in (AUDITOR, ADMIN):
            self.identity_for(p)

    def _cleanup(self) -> None:
        close_all()  # the sidecars first: their configuration and state live under root
        shutil.rmtree(self.root, True)

    @classmethod
    def get(cls) -> _ProcessPKI:
        with cls._lock:
            if cls._instance is None:
                cls._instance = _ProcessPKI()
            return cls._instance

    def _issue_host(self) -> tuple[str, str]:
        """`capgate pki host --name pydrivers`: the DriverHost's certificate. Its paths are the
        PKI directory's business, so they are found by name after issuing."""
        try:
            run_capgate(self.binary, "pki", "host", "--dir", self.pki.path, "--name", HOST_NAME)
        except SidecarError as exc:
            raise SidecarError(
                f"this capgate build cannot issue driver-host certificates ({exc}); the drop-in "
                "RemoteKernel needs `capgate pki host` and `[[driver]] type = \"host\"`"
            ) from exc
        certs = [p for p in glob.glob(os.path.join(self.pki.path, "**", f"{HOST_NAME}.pem"), recursive=True)]
        if len(certs) != 1:
            raise SidecarError(f"cannot find the driver-host certificate {HOST_NAME}.pem under {self.pki.path}")
        key = certs[0][: -len(".pem")] + ".key"
        if not os.path.exists(key):
            raise SidecarError(f"cannot find the driver-host key beside {certs[0]}")
        return certs[0], key

    def identity_for(self, p: Principal) -> tuple[Identity, str, str]:
        key = _principal_key(p)
        name = _agent_name(key)
        cert, keyfile = self.pki.agent(name)
        with self.known_lock:
            ident = self.known.get(key)
            if ident is None:
                ident = Identity(self.pki.spiffe_id(name), p.principal_id, list(p.roles),
                                 {str(k): str(v) for k, v in p.attributes.items()})
                self.known[key] = ident
        return ident, cert, keyfile

    def identities(self) -> list[Identity]:
        with self.known_lock:
            return list(self.known.values())


def _refuse(what: str, why: str) -> NotImplementedError:
    return NotImplementedError(f"RemoteKernel cannot honour {what}: {why} (no silent local fallback)")


def _check_exact(obj: Any, cls: type, what: str) -> None:
    if obj is not None and type(obj) is not cls:
        raise _refuse(f"{what}={type(obj).__name__}", f"only the reference's {cls.__name__} is supported")


def _capability_table(cap: Any, drivers: list[str]) -> dict[str, Any]:
    t: dict[str, Any] = {
        "capability_id": cap.capability_id, "name": cap.name, "description": cap.description,
        "safety_class": cap.safety_class.value, "sensitivity": cap.sensitivity.value,
        "allowed_fields": list(cap.allowed_fields), "tags": list(cap.tags), "drivers": drivers,
    }
    if cap.parameters_schema is not None:
        t["parameters_schema"] = cap.parameters_schema
    return t


def check_honourable(*, policy: Any, token_provider: Any, router: Any, firewall: Any, handle_store: Any,
                     budget_manager: Any) -> tuple[HMACTokenProvider, StaticRouter]:
    """Refuses (NotImplementedError naming it) what the sidecar cannot do as the caller's object
    would; returns the token provider and router to use (the reference's defaults for None)."""
    if policy is not None and type(policy) is not DefaultPolicyEngine:
        raise _refuse(f"policy={type(policy).__name__}",
                      "the sidecar runs DefaultPolicyEngine here; for a DSL policy configure a sidecar with "
                      "[policy] engine = \"dsl\" and use RemoteKernel.connect")
    token_provider = token_provider if token_provider is not None else HMACTokenProvider()
    _check_exact(token_provider, HMACTokenProvider, "token_provider")
    if type(token_provider._revocation) is not InMemoryRevocationStore:
        raise _refuse(f"a {type(token_provider._revocation).__name__} revocation store",
                      "revocations are the sidecar's (state_dir/revocations.log)")
    router = router if router is not None else StaticRouter()
    _check_exact(router, StaticRouter, "router")
    _check_exact(firewall, Firewall, "firewall")
    if firewall is not None and firewall.budgets != Budgets():
        raise _refuse("custom Firewall budgets", "the sidecar's firewall uses the reference defaults")
    _check_exact(handle_store, HandleStore, "handle_store")
    if handle_store is not None and (handle_store._default_ttl, handle_store._max_entries,
                                     handle_store._max_total_bytes, handle_store._max_entry_bytes) != (3600, 10_000, None, None):
        raise _refuse("a HandleStore with custom limits", "the sidecar's handle store uses the defaults")
    _check_exact(budget_manager, BudgetManager, "budget_manager")
    if budget_manager is not None and budget_manager._counter is not _default_counter():
        raise _refuse("a BudgetManager with a custom token_counter", "the sidecar counts tokens itself")
    return token_provider, router


def plan_config(*, registry: Any, policy: Any, token_provider: HMACTokenProvider, router: StaticRouter,
                budget_manager: Any, pki: Any, root: str, host_url: str, host_identity: str,
                sidecar_client: tuple[str, str], identities: list[Identity]) -> SidecarConfig:
    """The private sidecar's configuration (writes the secret file under *root*)."""
    from weaver_kernel._secrets import resolve_hmac_secret

    secret_path = os.path.join(root, "secret")
    write_secret(secret_path, resolve_hmac_secret(token_provider._secret))
    caps = registry.list_all()
    routes = {c.capability_id: list(router.route(c.capability_id).driver_ids) for c in caps}
    client_cert, client_key = sidecar_client
    # One [[driver]] per routed id, all on this kernel's DriverHost (same url + identity: one
    # shared connection from the sidecar).
    drivers = [{"id": d, "type": "host", "url": host_url, "identity": host_identity, "ca_file": pki.ca,
                "client_certificate": client_cert, "client_private_key": client_key}
               for d in sorted({d for ds in routes.values() for d in ds})]
    rate_limits = None
    if policy is not None:
        rate_limits = {sc.value: (int(n), float(w)) for sc, (n, w) in policy._rate_limits.items()}
    budget_total, default_request = 0, 4000  # no BudgetManager: no budget, as in the reference
    if budget_manager is not None:
        budget_total, default_request = budget_manager._state.total, budget_manager._default_request
    return SidecarConfig(
        pki=pki, state_dir=os.path.join(root, "state"), secret_file=secret_path, identities=list(identities),
        drivers=drivers, capabilities=[_capability_table(c, routes[c.capability_id]) for c in caps],
        budget_total=budget_total, budget_default_request=default_request, rate_limits=rate_limits,
    )


class PrivateSidecar:
    """A drop-in kernel's own `capgate serve`, DriverHost and per-principal connections."""

    def __init__(self, *, registry: Any, policy: Any, token_provider: Any, router: Any, firewall: Any,
                 handle_store: Any, trace_store: Any, budget_manager: Any) -> None:
        t0 = time.monotonic()
        self._closed = False
        self._sidecar: Sidecar | None = None
        self._host: Any = None
        self._transports: dict[tuple[Any, ...], Transport] = {}
        self._lock = threading.Lock()
        _LIVE.add(self)
        # Everything is checked before anything starts.
        token_provider, router = check_honourable(
            policy=policy, token_provider=token_provider, router=router, firewall=firewall,
            handle_store=handle_store, budget_manager=budget_manager)
        self.trace_view = self._trace_view(trace_store)

        shared = _ProcessPKI.get()
        self._shared = shared
        self.root = tempfile.mkdtemp(prefix="kernel-", dir=shared.root)
        from .driver_host import DriverHost

        self._host = DriverHost(cert=shared.host_cert, key=shared.host_key, ca=shared.pki.ca).start()
        try:
            self.config = plan_config(
                registry=registry, policy=policy, token_provider=token_provider, router=router,
                budget_manager=budget_manager, pki=shared.pki, root=self.root, host_url=self._host.url,
                host_identity=shared.host_identity, sidecar_client=shared.sidecar_client,
                identities=shared.identities())
            self.config_path = os.path.join(self.root, "capgate.toml")
            self._write_config()
            self._sidecar = Sidecar(shared.binary, self.config_path)
            self._sidecar.start()
        except BaseException:
            self.close()
            raise
        self.admitted = {_principal_key_of(i) for i in self.config.identities}
        self.trace_view._bind(self.transport_for(None))
        STARTED["kernels"] += 1
        self.startup_seconds = time.monotonic() - t0
        STARTED["startup_seconds"] += self.startup_seconds
        STARTED["each"].append(self.startup_seconds)

    @staticmethod
    def _trace_view(trace_store: Any) -> RemoteTraceStore:
        if trace_store is None or isinstance(trace_store, RemoteTraceStore):
            return trace_store if trace_store is not None else RemoteTraceStore()
        if type(trace_store) is TraceStore and not trace_store.list_all():
            # The caller's own TraceStore becomes a read view of the sidecar's audit: its read
            # methods are replaced on this instance (record refuses, as the sidecar records).
            view = RemoteTraceStore()
            for name in ("list_all", "query", "get", "record"):
                setattr(trace_store, name, getattr(view, name))
            return view
        raise _refuse(f"trace_store={type(trace_store).__name__}",
                      "the sidecar keeps the audit trail; pass no store, an empty TraceStore or a RemoteTraceStore")

    def _write_config(self) -> None:
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.config.render())
        os.replace(tmp, self.config_path)  # the sidecar never reads half a file

    # ---- drivers ----------------------------------------------------------------------------

    def register_driver(self, driver: Any) -> None:
        self._host.register_driver(driver)

    # ---- principals ---------------------------------------------------------------------------

    @property
    def admin_principal(self) -> Principal:
        return ADMIN

    def transport_for(self, principal: Principal | None) -> Transport:
        p = principal if principal is not None else AUDITOR
        key = _principal_key(p)
        with self._lock:
            t = self._transports.get(key)
            if t is not None:
                return t
            if self._closed or self._sidecar is None:
                raise RuntimeError("this RemoteKernel is closed")
            ident, cert, keyfile = self._shared.identity_for(p)
            if key not in self.admitted:
                self.config.identities.append(ident)
                self._write_config()
                self._sidecar.reload(expected_rules=len(self.config.identities))
                self.admitted.add(key)
            t = Transport(self._sidecar.url, cert=cert, key=keyfile, ca=self._shared.pki.ca)
            self._transports[key] = t
            return t

    @property
    def url(self) -> str:
        return self._sidecar.url if self._sidecar else ""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for t in self._transports.values():
            t.close()
        if self._sidecar is not None:
            self._sidecar.stop()
        if self._host is not None:
            self._host.stop()


def _default_counter() -> Any:
    from weaver_kernel.firewall import token_counting

    return token_counting.default_token_counter


def _principal_key_of(ident: Identity) -> tuple[Any, ...]:
    return (ident.principal_id, tuple(ident.roles), tuple(sorted(ident.attributes.items())))
