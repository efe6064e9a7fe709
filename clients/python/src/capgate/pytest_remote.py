"""pytest plugin: run weaver_kernel test suites against capgate sidecars.

    python -m pytest -p capgate.pytest_remote tests/...

Loaded with ``-p``, it runs before any test module is imported and makes ``weaver_kernel.Kernel``
the drop-in ``capgate.RemoteKernel`` (each kernel a private sidecar of its own) and
``weaver_kernel.TraceStore`` the ``capgate.RemoteTraceStore`` read view of that sidecar's audit.
Everything else (tokens, redaction, handle stores used directly, adapters) stays the
reference's local code: a test that builds no Kernel does not touch a sidecar. At the end it
prints ``capgate: N remote kernels, M verb calls over the wire``.
"""

from __future__ import annotations

from typing import Any

import weaver_kernel
import weaver_kernel.kernel
import weaver_kernel.trace

from . import _dropin
from ._transport import CallCounter
from .remote import RemoteKernel
from .trace_view import RemoteTraceStore

_ORIGINAL: dict[tuple[Any, str], Any] = {}
_TARGETS = [
    (weaver_kernel, "Kernel", RemoteKernel),
    (weaver_kernel.kernel, "Kernel", RemoteKernel),
    (weaver_kernel, "TraceStore", RemoteTraceStore),
    (weaver_kernel.trace, "TraceStore", RemoteTraceStore),
]


def _swap() -> None:
    for module, name, replacement in _TARGETS:
        _ORIGINAL.setdefault((module, name), getattr(module, name))
        setattr(module, name, replacement)


def _restore() -> None:
    for (module, name), original in _ORIGINAL.items():
        setattr(module, name, original)


_swap()  # at import: `-p` imports the plugin before collection imports any test module


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    _dropin.close_all()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    each = sorted(_dropin.STARTED["each"][1:])  # the first kernel also creates the process's PKI
    if _dropin.STARTED["each"]:
        first = _dropin.STARTED["each"][0] * 1000
        rest = f", then median {each[len(each) // 2] * 1000:.0f} ms, max {each[-1] * 1000:.0f} ms" if each else ""
        terminalreporter.write_line(f"capgate: remote kernel start-up (sidecar + driver host): first {first:.0f} ms "
                                    f"(with the PKI){rest}")


def pytest_unconfigure(config: Any) -> None:
    _restore()
    # After pytest's own summary line, so it is the run's final line.
    line = f"capgate: {_dropin.STARTED['kernels']} remote kernels, {CallCounter.total} verb calls over the wire"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    else:
        print(line)
