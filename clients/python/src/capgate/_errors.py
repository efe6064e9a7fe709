"""The v1 error envelope -> the reference's exception classes (docs/errors.md).

``{"error": {"type", "code", "reason_code", "message"}}``: ``type`` names the reference's class
(re-raised as that class, ``reason_code`` set where the class carries one); every raised error
also carries the stable wire ``code`` as ``.code`` and the HTTP status as ``.status``.
"""

from __future__ import annotations

from typing import Any

import weaver_kernel.errors as _wk_errors
from weaver_kernel.errors import AgentKernelError

# Python built-ins the wire may name (docs/errors.md: `invalid_request` with type ValueError).
_BUILTINS: dict[str, type[Exception]] = {"ValueError": ValueError, "TypeError": TypeError}
_WITH_REASON = (_wk_errors.PolicyDenied, _wk_errors.HandleConstraintViolation)


class CapgateConnectionError(AgentKernelError):
    """The sidecar could not be reached, or the TLS handshake failed (wrong CA, refused
    certificate). ``.code`` is ``"connection_failed"`` or ``"tls_failed"``."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.status: int | None = None


def _class_for(type_name: str) -> type[Exception]:
    builtin = _BUILTINS.get(type_name)
    if builtin is not None:
        return builtin
    cls = getattr(_wk_errors, type_name, None)
    if isinstance(cls, type) and issubclass(cls, AgentKernelError):
        return cls
    return AgentKernelError


def bad_response(status: int, message: str) -> AgentKernelError:
    """An answer the client cannot read as the protocol says (code ``bad_response``)."""
    exc = AgentKernelError(message)
    exc.code = "bad_response"  # type: ignore[attr-defined]
    exc.status = status  # type: ignore[attr-defined]
    return exc


def error_from_envelope(status: int, body: Any) -> Exception:
    """The exception a non-2xx answer stands for (a malformed envelope is an AgentKernelError
    with code ``bad_response``: never a silent success)."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("message"), str):
        return bad_response(status, f"capgate answered HTTP {status} without an error envelope")
    cls = _class_for(str(err.get("type", "")))
    message = err["message"]
    reason = err.get("reason_code")
    if issubclass(cls, _WITH_REASON):
        exc = cls(message, reason_code=reason)
    else:
        exc = cls(message)
        if reason is not None:
            exc.reason_code = reason  # type: ignore[attr-defined]
    exc.code = err.get("code")  # type: ignore[attr-defined]
    exc.status = status  # type: ignore[attr-defined]
    return exc
