"""capgate: the weaver_kernel API over a capgate sidecar (mTLS HTTP/2), and a driver host.

    kernel = capgate.RemoteKernel.connect("https://sidecar:8443", cert=..., key=..., ca=...)

See clients/python/README.md.
"""

from ._errors import CapgateConnectionError
from ._transport import CallCounter
from .remote import RemoteKernel
from .trace_view import RemoteTraceStore

__all__ = ["RemoteKernel", "RemoteTraceStore", "CapgateConnectionError", "CallCounter", "DriverHost"]


def __getattr__(name: str):  # the driver host pulls in hypercorn: only when asked for
    if name == "DriverHost":
        from .driver_host import DriverHost

        return DriverHost
    raise AttributeError(name)
