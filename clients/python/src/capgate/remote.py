"""``RemoteKernel``: the ``weaver_kernel.Kernel`` API, served by a capgate sidecar.

Two ways in:

* ``RemoteKernel.connect(url, cert=, key=, ca=)`` joins a shared sidecar as the one agent its
  certificate names (the production entry). ``principal`` arguments are still accepted, as in
  the reference, and the sidecar checks them against the certificate (``principal_mismatch``).
* ``RemoteKernel(registry, policy=, token_provider=, router=, trace_store=, ...)``, the reference
  constructor, starts a private sidecar for that setup (see ``_dropin``) and presents, per call,
  the certificate of the ``Principal`` the caller passes.

Method names, signatures, the sync/async split and the returned objects are the reference's;
errors are the reference's classes (``_errors``). What the wire does not serve raises
``NotImplementedError`` naming it, never a silent local fallback.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Literal, overload

from weaver_kernel.models import (
    ActionTrace,
    Capability,
    CapabilityGrant,
    CapabilityRequest,
    DenialExplanation,
    DryRunResult,
    Frame,
    Handle,
    Principal,
    ResponseMode,
)
from weaver_kernel.stats import StatsSnapshot
from weaver_kernel.tokens import CapabilityToken
from weaver_kernel.trace_query import TraceQuery

from . import _codec as C
from ._errors import bad_response, error_from_envelope
from ._transport import Transport


class RemoteKernel:
    """A kernel whose verbs run in a capgate sidecar (see the module docstring)."""

    _transport: Transport | None = None
    _dropin: Any = None  # capgate._dropin.PrivateSidecar when built with the reference constructor

    # ---- construction ----------------------------------------------------------------------

    def __init__(
        self,
        registry: Any,
        policy: Any = None,
        token_provider: Any = None,
        router: Any = None,
        firewall: Any = None,
        handle_store: Any = None,
        trace_store: Any = None,
        budget_manager: Any = None,
        kernel_id: str = "agent-kernel",
    ) -> None:
        from ._dropin import PrivateSidecar

        self._kernel_id = kernel_id
        self._registry = registry
        self._dropin = PrivateSidecar(
            registry=registry, policy=policy, token_provider=token_provider, router=router,
            firewall=firewall, handle_store=handle_store, trace_store=trace_store,
            budget_manager=budget_manager,
        )
        self._trace_store = self._dropin.trace_view
        self._budget_manager = budget_manager

    @classmethod
    def connect(cls, url: str, *, cert: str, key: str, ca: str, timeout: float = 30.0,
                streams_per_connection: int = 500, kernel_id: str = "agent-kernel") -> RemoteKernel:
        """Join the sidecar at *url* (``https://host:port``) as the agent *cert* names.

        *cert*/*key*: this agent's certificate and key (``capgate pki issue``); *ca*: the CA
        bundle that signed the sidecar's certificate; *timeout*: seconds per call;
        *streams_per_connection*: calls per HTTP/2 connection before the client moves to a new
        one; keep it below the sidecar's ``maxStreamsPerConnection`` (default 1000)."""
        self = cls.__new__(cls)
        self._kernel_id = kernel_id
        self._registry = None
        self._budget_manager = None
        self._transport = Transport(url, cert=cert, key=key, ca=ca, timeout=timeout,
                                    streams_per_connection=streams_per_connection)
        from .trace_view import RemoteTraceStore

        self._trace_store = RemoteTraceStore._bound(self._transport)
        return self

    def _t(self, principal: Principal | None = None) -> Transport:
        if self._transport is not None:
            return self._transport
        return self._dropin.transport_for(principal)

    def close(self) -> None:
        """Closes the connection(s); a drop-in kernel also stops its private sidecar."""
        if self._transport is not None:
            self._transport.close()
        if self._dropin is not None:
            self._dropin.close()

    def __enter__(self) -> RemoteKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten drop-in kernel must not leave a sidecar behind
        try:
            if self._dropin is not None:
                self._dropin.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ---- properties of the reference ---------------------------------------------------------

    @property
    def kernel_id(self) -> str:
        return self._kernel_id

    @property
    def budget(self) -> Any:
        return self._budget_manager

    @property
    def url(self) -> str:
        """The sidecar's base URL."""
        return self._t().url

    def register_driver(self, driver: Any) -> None:
        """Drop-in kernels serve *driver* to their sidecar through an in-process DriverHost.
        A connected kernel cannot: a shared sidecar's drivers are operator configuration
        (run them in a ``capgate.DriverHost`` and declare it as a ``[[driver]] type = "host"``)."""
        if self._dropin is None:
            raise NotImplementedError(
                "register_driver on RemoteKernel.connect(): drivers of a shared sidecar are declared in "
                "its configuration; serve Python drivers with capgate.DriverHost"
            )
        self._dropin.register_driver(driver)

    # ---- verbs ---------------------------------------------------------------------------------

    def list_capabilities(self) -> list[Capability]:
        caps = C.decode_list(C.decode_capability, self._t().call("list_capabilities", {}))
        if self._registry is not None:  # Python-only fields stay client-side (docs/design.md 6)
            for cap in caps:
                try:
                    local = self._registry.get(cap.capability_id)
                except Exception:  # noqa: BLE001 - a capability the local registry lacks
                    continue
                cap.parameters_model, cap.impl, cap.tool_hints = local.parameters_model, local.impl, local.tool_hints
        return caps

    def request_capabilities(self, goal: str, *, context_tags: dict[str, str] | None = None) -> list[CapabilityRequest]:
        body: dict[str, Any] = {"goal": goal}
        if context_tags is not None:
            body["context_tags"] = context_tags
        return C.decode_list(C.decode_request, self._t().call("request_capabilities", body))

    def grant_capability(self, request: CapabilityRequest, principal: Principal, *, justification: str) -> CapabilityGrant:
        body = {"request": C.request_json(request), "justification": justification,
                "principal": C.principal_json(principal)}
        return C.decode_grant(self._t(principal).call("grant_capability", body))

    def get_token(self, request: CapabilityRequest, principal: Principal, *, justification: str) -> CapabilityToken:
        return self.grant_capability(request, principal, justification=justification).token

    @overload
    async def invoke(self, token: CapabilityToken, *, principal: Principal, args: dict[str, Any],
                     response_mode: ResponseMode = ..., dry_run: Literal[True]) -> DryRunResult: ...

    @overload
    async def invoke(self, token: CapabilityToken, *, principal: Principal, args: dict[str, Any],
                     response_mode: ResponseMode = ..., dry_run: Literal[False] = ...) -> Frame: ...

    async def invoke(self, token: CapabilityToken, *, principal: Principal, args: dict[str, Any],
                     response_mode: ResponseMode = "summary", dry_run: bool = False) -> Frame | DryRunResult:
        body = {"token": C.token_json(token), "args": C.plain(args), "response_mode": response_mode,
                "dry_run": dry_run, "principal": C.principal_json(principal)}
        data = await self._t(principal).acall("invoke", body)
        return C.decode_dry_run(data) if dry_run else C.decode_frame(data)

    async def invoke_stream(self, token: CapabilityToken, *, principal: Principal, args: dict[str, Any],
                            response_mode: ResponseMode = "summary") -> AsyncIterator[Frame]:
        """Frames as the sidecar streams them (``POST /v1/invoke_stream``, ndjson, docs/design.md
        section 5), each yielded as its line arrives; the last has ``is_final``. An error before
        the first frame (the envelope) or after some (a final ``{"error": ...}`` line) raises the
        reference's class, as ``invoke`` does; a stream that ends without a final frame raises
        ``bad_response``. Leaving the iteration early resets the HTTP/2 stream, so the sidecar
        stops the driver."""
        body = {"token": C.token_json(token), "args": C.plain(args), "response_mode": response_mode,
                "principal": C.principal_json(principal)}
        final = False
        async with contextlib.aclosing(self._t(principal).astream_lines("invoke_stream", body)) as lines:
            async for line in lines:
                if final:
                    raise bad_response(200, "capgate invoke_stream: a line after the final frame")
                frame = _stream_frame(line)
                final = frame.is_final
                yield frame
        if not final:
            raise bad_response(200, "capgate invoke_stream: the stream ended without a final frame")

    def expand(self, handle: Handle, *, query: dict[str, Any], principal: Principal | None = None) -> Frame:
        body: dict[str, Any] = {"handle_id": handle.handle_id, "query": C.plain(query)}
        if principal is not None:
            body["principal"] = C.principal_json(principal)
        return C.decode_frame(self._t(principal).call("expand", body))

    def explain(self, action_id: str) -> ActionTrace:
        return C.decode_trace(self._t().call("explain", {"action_id": action_id}))

    def list_traces(self) -> list[ActionTrace]:
        """Every trace this caller may read, oldest first (all of them for admin/auditor)."""
        return self.query_traces(TraceQuery())

    def query_traces(self, query: TraceQuery) -> list[ActionTrace]:
        return C.decode_list(C.decode_trace, self._t().call("query_traces", C.trace_query_json(query)))

    @property
    def stats(self) -> StatsSnapshot:
        return C.decode_stats(self._t().call("stats", {}))

    def reset_stats(self) -> None:
        raise NotImplementedError("reset_stats: the capgate wire does not serve it (the counters are shared)")

    def explain_denial(self, request: CapabilityRequest, principal: Principal, *, justification: str = "") -> DenialExplanation:
        body = {"request": C.request_json(request), "justification": justification,
                "principal": C.principal_json(principal)}
        return C.decode_denial(self._t(principal).call("explain_denial", body))

    def revoke(self, token_id: str) -> None:
        """Revoke one token for every agent of the sidecar (needs the ``admin`` role)."""
        self._t(self._admin()).call("revoke", {"token_id": token_id})

    def revoke_all(self, principal_id: str) -> int:
        """Revoke every token of *principal_id*; how many were newly revoked (``admin``)."""
        return int(self._t(self._admin()).call("revoke_all", {"principal_id": principal_id})["revoked"])

    # ---- kill switches and status (capgate only; docs/operations.md; need ``admin``) ---------
    # Each answers the sidecar's JSON as a dict: ``{"all", "capabilities", "principals"}`` for
    # the switches (every paused item after the call), the status report for ``status``.

    def pause_capability(self, capability_id: str, *, reason: str = "") -> dict[str, Any]:
        """Refuse every grant and invoke of *capability_id* until :meth:`resume_capability`."""
        return self._t(self._admin()).call("pause_capability", {"capability_id": capability_id, "reason": reason})

    def pause_principal(self, principal_id: str, *, reason: str = "") -> dict[str, Any]:
        """Refuse every request of *principal_id* and of its tokens, also later ones, until resumed."""
        return self._t(self._admin()).call("pause_principal", {"principal_id": principal_id, "reason": reason})

    def pause_all(self, *, reason: str = "") -> dict[str, Any]:
        """Refuse every verb but health and the admin verbs until :meth:`resume_all`."""
        return self._t(self._admin()).call("pause_all", {"reason": reason})

    def resume_capability(self, capability_id: str) -> dict[str, Any]:
        return self._t(self._admin()).call("resume_capability", {"capability_id": capability_id})

    def resume_principal(self, principal_id: str) -> dict[str, Any]:
        return self._t(self._admin()).call("resume_principal", {"principal_id": principal_id})

    def resume_all(self) -> dict[str, Any]:
        return self._t(self._admin()).call("resume_all", {})

    def list_paused(self) -> dict[str, Any]:
        return self._t(self._admin()).call("list_paused", {})

    def status(self) -> dict[str, Any]:
        """Uptime, connections, config generation, certificate expiries, paused items, store health."""
        return self._t(self._admin()).call("status", {})

    def _admin(self) -> Principal | None:
        return None if self._dropin is None else self._dropin.admin_principal

    # ---- what the sidecar does not serve ------------------------------------------------------

    def advertise(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("advertise: federation is not served by the capgate wire")

    async def discover_peers(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("discover_peers: federation is not served by the capgate wire")

    def import_remote(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("import_remote: federation is not served by the capgate wire")


def _stream_frame(line: str) -> Frame:
    """One ndjson line of ``invoke_stream``: a Frame, or the error line raised as its class."""
    try:
        item = json.loads(line)
    except ValueError:
        raise bad_response(200, "capgate invoke_stream: a line is not JSON") from None
    if not isinstance(item, dict):
        raise bad_response(200, "capgate invoke_stream: a line is not an object")
    if "error" in item and "action_id" not in item:
        raise error_from_envelope(200, item)
    return C.decode_frame(item)
