"""Wire JSON <-> the reference's own dataclasses.

The sidecar answers with the reference's models in their dataclass JSON shape (docs/design.md
section 2), so decoding is "call the dataclass with the right conversions per field". Doing that
generically (walking type hints on every call) costs more than the request on a warm connection,
so each class gets one decoder *generated once* from its type hints: a plain function that
reads each key and applies only the conversion the field needs (datetime, enum, nested model,
list of models). Unknown keys are ignored (the wire may add response fields within v1); a key the
wire leaves out takes the dataclass default.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import weaver_kernel
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
)
from weaver_kernel.stats import StatsSnapshot
from weaver_kernel.tokens import CapabilityToken
from weaver_kernel.trace_query import TraceQuery

_fromiso = datetime.datetime.fromisoformat
_DECODERS: dict[type, Callable[[dict[str, Any]], Any]] = {}


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _converter(tp: Any) -> Callable[[Any], Any] | None:
    """The conversion a JSON value needs to become a value of type *tp*; None: use as is."""
    inner, optional = _strip_optional(tp)
    conv: Callable[[Any], Any] | None
    if inner is datetime.datetime:
        conv = _fromiso
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        conv = inner
    elif isinstance(inner, type) and dataclasses.is_dataclass(inner):
        conv = decoder(inner)
    elif typing.get_origin(inner) is list and typing.get_args(inner):
        item = _converter(typing.get_args(inner)[0])
        conv = None if item is None else (lambda v, _i=item: [_i(x) for x in v])
    else:
        return None
    if optional:
        return lambda v, _c=conv: None if v is None else _c(v)
    return conv


def _field_types(cls: type) -> dict[str, Any]:
    """Each field's resolved annotation; one that cannot be resolved (a name imported only for
    type checking, such as pydantic's BaseModel) is passed through unconverted."""
    # Names the module imports only for type checking (CapabilityToken in models) are taken
    # from the package's public namespace.
    module = {**vars(weaver_kernel), **sys.modules[cls.__module__].__dict__}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        ann = f.type
        if isinstance(ann, str):
            try:
                ann = eval(ann, module, {})  # noqa: S307 - the reference's own annotations
            except Exception:  # noqa: BLE001
                ann = Any
        out[f.name] = ann
    return out


def decoder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """The (cached) generated decoder for dataclass *cls*."""
    found = _DECODERS.get(cls)
    if found is not None:
        return found
    hints = _field_types(cls)
    env: dict[str, Any] = {"_cls": cls, "_MISSING": dataclasses.MISSING}
    args: list[str] = []
    for i, f in enumerate(dataclasses.fields(cls)):
        if not f.init:
            continue
        if f.name == "parameters_model":
            continue  # a Python class reference never crosses the wire
        conv = _converter(hints[f.name])
        read = f"d[{f.name!r}]"
        if conv is not None:
            env[f"_c{i}"] = conv
            read = f"_c{i}({read})"
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            args.append(f"{f.name}={read}")
        elif f.default is not dataclasses.MISSING:
            env[f"_d{i}"] = f.default
            args.append(f"{f.name}=({read} if {f.name!r} in d else _d{i})")
        else:
            env[f"_f{i}"] = f.default_factory
            args.append(f"{f.name}=({read} if {f.name!r} in d else _f{i}())")
    src = "def _decode(d):\n    return _cls(" + ", ".join(args) + ")\n"
    exec(compile(src, f"<capgate decoder {cls.__name__}>", "exec"), env)  # noqa: S102
    fn = env["_decode"]
    _DECODERS[cls] = fn
    return fn


decode_capability = decoder(Capability)
decode_request = decoder(CapabilityRequest)
decode_grant = decoder(CapabilityGrant)
decode_token = decoder(CapabilityToken)
decode_frame = decoder(Frame)
decode_dry_run = decoder(DryRunResult)
decode_trace = decoder(ActionTrace)
decode_denial = decoder(DenialExplanation)
decode_handle = decoder(Handle)
_decode_stats = decoder(StatsSnapshot)


def decode_stats(d: dict[str, Any]) -> StatsSnapshot:
    snap = _decode_stats(d)
    # The reference hands out a read-only view; keep that promise for the wire copy too.
    object.__setattr__(snap, "denials_by_reason", types.MappingProxyType(dict(snap.denials_by_reason)))
    return snap


def decode_list(fn: Callable[[dict[str, Any]], Any], items: list[dict[str, Any]]) -> list[Any]:
    return [fn(x) for x in items]


# ---- encoding (request bodies) -------------------------------------------------------------


def principal_json(p: Principal) -> dict[str, Any]:
    return {"principal_id": p.principal_id, "roles": list(p.roles), "attributes": dict(p.attributes)}


def request_json(r: CapabilityRequest) -> dict[str, Any]:
    return {
        "capability_id": r.capability_id,
        "goal": r.goal,
        "constraints": r.constraints,
        "intent": r.intent,
        "scope": r.scope,
    }


def token_json(t: CapabilityToken) -> dict[str, Any]:
    return t.to_dict()


def _iso(v: datetime.datetime | None) -> str | None:
    return None if v is None else v.isoformat()


def trace_query_json(q: TraceQuery) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in ("principal_id", "capability_id", "event_type", "outcome", "reason_code", "limit"):
        v = getattr(q, name)
        if v is not None:
            body[name] = v
    if q.since is not None:
        body["since"] = _iso(q.since)
    if q.until is not None:
        body["until"] = _iso(q.until)
    if q.offset:
        body["offset"] = q.offset
    return body


def plain(value: Any) -> Any:
    """A JSON-ready copy of *value* (args may carry enums or dataclasses, as in the reference)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value
