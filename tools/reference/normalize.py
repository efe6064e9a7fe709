"""Conversion of reference outputs to JSON and the golden normalization.

Two separate concerns live here because both the recorder and the README
describe them as the contract the Swift replayer re-implements:

* ``jsonable`` turns reference objects (dataclasses, enums, datetimes, tokens)
  into plain JSON values with the field names and order of
  ``dataclasses.asdict`` (spec section 1).
* ``Normalizer`` replaces the values that are random or time-dependent (UUIDs,
  ISO datetimes, HMAC signatures) with stable placeholders so two runs of the
  reference, and the Swift port, produce comparable documents.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import re
from collections.abc import Mapping
from typing import Any

from weaver_kernel import Capability, CapabilityToken

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
DATETIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(\+00:00|Z)?")

# Capability.parameters_model is a pydantic class: it cannot cross the wire (spec 1.2).
_SKIPPED_FIELDS = {Capability: {"parameters_model"}}


def jsonable(value: Any) -> Any:
    """Return *value* as plain JSON data (dict/list/str/int/float/bool/None).

    Dataclasses become objects in field-declaration order, ``CapabilityToken``
    uses its own ``to_dict()``, enums their ``.value``, datetimes
    ``isoformat()``; mappings keep insertion order; tuples become lists.
    """
    if isinstance(value, CapabilityToken):
        return jsonable(value.to_dict())
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        skipped = _SKIPPED_FIELDS.get(type(value), set())
        return {
            f.name: jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in skipped
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")


class Normalizer:
    """Scenario-wide placeholder mapping (one instance per scenario).

    Walk order (this is what makes ``<uuid:N>`` numbering reproducible): the
    results in step order; inside a value, depth-first pre-order; object
    entries in insertion order, the key before its value; array items in
    order. Inside one string, UUIDs are numbered left to right. UUIDs are
    replaced before datetimes (the two patterns cannot overlap).
    """

    def __init__(self) -> None:
        self._uuids: dict[str, int] = {}

    def string(self, text: str) -> str:
        def _uuid(match: re.Match[str]) -> str:
            found = match.group(0)
            if found not in self._uuids:
                self._uuids[found] = len(self._uuids) + 1
            return f"<uuid:{self._uuids[found]}>"

        text = UUID_RE.sub(_uuid, text)
        return DATETIME_RE.sub("<datetime>", text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                new_key = self.string(key)
                out[new_key] = "<sig>" if key == "signature" else self.value(item)
            return out
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value
