"""``RemoteTraceStore``: the reference's ``TraceStore`` read API over the sidecar's audit trail.

The sidecar records every trace itself (the audit is shared and must not depend on a client),
so a remote view is read-only: ``list_all``, ``get`` and ``query`` read the sidecar's traces
(``query_traces``/``explain``); ``record`` raises. A view is created unbound (``TraceStore()``
in code written for the reference) and bound when passed to a drop-in ``RemoteKernel``; it then
reads with that private sidecar's auditor identity, so it sees every principal's traces as the
in-process store would.
"""

from __future__ import annotations

from typing import Any

from weaver_kernel.models import ActionTrace
from weaver_kernel.trace_query import TraceQuery

from . import _codec as C


class RemoteTraceStore:
    """Read view of a sidecar's audit trail with the reference ``TraceStore`` methods."""

    def __init__(self, *, max_entries: int = 10_000, **_ignored: Any) -> None:
        # max_entries is accepted for signature compatibility: retention is the sidecar's.
        self._transport: Any = None
        self.evicted_count = 0

    @classmethod
    def _bound(cls, transport: Any) -> RemoteTraceStore:
        view = cls()
        view._transport = transport
        return view

    def _bind(self, transport: Any) -> None:
        if self._transport is not None and self._transport is not transport:
            raise NotImplementedError("a TraceStore view can be bound to one RemoteKernel only")
        self._transport = transport

    def _t(self) -> Any:
        if self._transport is None:
            raise RuntimeError("this TraceStore view is not bound: pass it to RemoteKernel(trace_store=...)")
        return self._transport

    def record(self, trace: ActionTrace) -> None:
        raise NotImplementedError("TraceStore.record: the sidecar writes its audit trail itself")

    def list_all(self) -> list[ActionTrace]:
        return self.query(TraceQuery())

    def query(self, query: TraceQuery) -> list[ActionTrace]:
        return C.decode_list(C.decode_trace, self._t().call("query_traces", C.trace_query_json(query)))

    def get(self, action_id: str) -> ActionTrace:
        return C.decode_trace(self._t().call("explain", {"action_id": action_id}))

    def __len__(self) -> int:
        return len(self.list_all())
