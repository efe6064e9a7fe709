"""``python -m capgate.driver_host --config FILE``: a DriverHost as a process."""

from __future__ import annotations

import threading

from .driver_host import DriverHost

# ---- python -m capgate.driver_host --config FILE ------------------------------------------

_CONFIG_HELP = """\
driver host configuration (TOML; relative paths resolve against the file's directory):

  [host]
  listen = "127.0.0.1:9100"                 # host:port ([v6]:port); port 0 picks a free one
  certificate = "pki/hosts/pydrivers.pem"   # this host's certificate (capgate pki host)
  private_key = "pki/hosts/pydrivers.key"
  ca_file = "pki/ca.pem"                    # the sidecar's client certificate must chain to it

  [[driver]]
  factory = "weaver_kernel:make_billing_driver"   # module:callable returning a Driver
  kwargs = { }                                    # optional keyword arguments
"""


def load_config(path: str) -> DriverHost:
    """A DriverHost (not started) from a configuration file; unknown keys are errors."""
    import importlib
    import os
    import tomllib

    with open(path, "rb") as f:
        doc = tomllib.load(f)
    base = os.path.dirname(os.path.abspath(path))

    def rel(p: str) -> str:
        return p if os.path.isabs(p) else os.path.join(base, p)

    unknown = set(doc) - {"host", "driver"}
    host = doc.get("host", {})
    unknown |= {f"host.{k}" for k in set(host) - {"listen", "certificate", "private_key", "ca_file"}}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    for k in ("listen", "certificate", "private_key", "ca_file"):
        if not isinstance(host.get(k), str):
            raise ValueError(f"{path}: host.{k} is required (a string)")
    addr, _, port = host["listen"].rpartition(":")
    drivers = []
    for i, entry in enumerate(doc.get("driver", [])):
        extra = set(entry) - {"factory", "kwargs"}
        if extra or not isinstance(entry.get("factory"), str) or ":" not in entry["factory"]:
            raise ValueError(f"{path}: driver[{i}] needs factory = \"module:callable\" (and optional kwargs)")
        module, _, attr = entry["factory"].partition(":")
        factory = getattr(importlib.import_module(module), attr)
        drivers.append(factory(**entry.get("kwargs", {})))
    return DriverHost(drivers, cert=rel(host["certificate"]), key=rel(host["private_key"]),
                      ca=rel(host["ca_file"]), host=addr.strip("[]"), port=int(port))


def main(argv: list[str] | None = None) -> int:
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="python -m capgate.driver_host", epilog=_CONFIG_HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    try:
        host = load_config(args.config).start()
    except (OSError, ValueError, ImportError, AttributeError, RuntimeError) as exc:
        print(f"capgate.driver_host: {exc}", file=sys.stderr)
        return 1
    # The handlers go in before the ready line: a supervisor (or a test) may send SIGTERM as
    # soon as it reads that line, and a signal that arrived first would kill the host with
    # Python's default action instead of stopping it cleanly (exit status -15, not 0).
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    print(f"capgate driver host listening on {host.url} with drivers {host.driver_ids}", flush=True)
    done.wait()
    host.stop()
    return 0
