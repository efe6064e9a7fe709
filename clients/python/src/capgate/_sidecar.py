"""Running a private `capgate serve`: the PKI, the configuration file and the process.

Used by the drop-in ``RemoteKernel(registry=...)`` and by the tests. Nothing here talks the wire:
readiness and reloads are observed on the sidecar's own log lines (``capgate listening on
HOST:PORT``, ``reload: N identity rules loaded``), so a caller never sleeps to synchronize.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_LISTENING = re.compile(r"capgate listening on (\S+):(\d+) ")
_RELOADED = re.compile(r"reload: (\d+) identity rules loaded")
_REFUSED = re.compile(r"reload: configuration refused[^\n]*")


class SidecarError(RuntimeError):
    """The private sidecar could not be prepared, started or reloaded (the message says why)."""


def capgate_binary() -> str:
    """``$CAPGATE_BIN``, else ``capgate`` on PATH."""
    found = os.environ.get("CAPGATE_BIN") or shutil.which("capgate")
    if not found or not os.access(found, os.X_OK):
        raise SidecarError(
            "capgate binary not found: set CAPGATE_BIN to the built `capgate` "
            "(e.g. $(swift build --show-bin-path)/capgate) or put it on PATH"
        )
    return found


def run_capgate(binary: str, *args: str, timeout: float = 30.0) -> str:
    """Runs a short `capgate` command (pki, check-config); its stdout, or SidecarError."""
    try:
        done = subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SidecarError(f"capgate {' '.join(args)}: no answer within {timeout}s") from exc
    if done.returncode != 0:
        raise SidecarError(f"capgate {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


class PKI:
    """A `capgate pki` directory: CA, server certificate, agent certificates (issued once each)."""

    def __init__(self, binary: str, path: str, trust_domain: str = "capgate.local") -> None:
        self.binary = binary
        self.path = path
        self.trust_domain = trust_domain
        self._lock = threading.Lock()
        if not os.path.exists(os.path.join(path, "ca.pem")):
            run_capgate(binary, "pki", "init", "--dir", path, "--trust-domain", trust_domain)
            run_capgate(binary, "pki", "server", "--dir", path)

    @property
    def ca(self) -> str:
        return os.path.join(self.path, "ca.pem")

    @property
    def server_cert(self) -> str:
        return os.path.join(self.path, "server.pem")

    @property
    def server_key(self) -> str:
        return os.path.join(self.path, "server.key")

    def spiffe_id(self, agent: str) -> str:
        return f"spiffe://{self.trust_domain}/agent/{agent}"

    def agent(self, name: str, ttl: str = "24h") -> tuple[str, str]:
        """(certificate, key) of agent *name*, issued on first use."""
        cert = os.path.join(self.path, "agents", f"{name}.pem")
        key = os.path.join(self.path, "agents", f"{name}.key")
        with self._lock:
            if not os.path.exists(cert):
                run_capgate(self.binary, "pki", "issue", "--dir", self.path, "--agent", name, "--ttl", ttl)
        return cert, key


# ---- configuration -----------------------------------------------------------------------


def toml_value(v: Any) -> str:
    """A TOML literal for a JSON-like value (TOML has no null: refused)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if v is None:
        raise ValueError("TOML cannot express null")
    raise ValueError(f"cannot express {type(v).__name__} in TOML")


@dataclass
class Identity:
    spiffe_id: str
    principal_id: str
    roles: Sequence[str] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class SidecarConfig:
    """Everything a generated `capgate serve` configuration holds (docs/configuration.md)."""

    pki: PKI
    state_dir: str
    secret_file: str
    identities: list[Identity] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)  # [[driver]] tables as given
    capabilities: list[dict[str, Any]] = field(default_factory=list)  # [[capability]] tables
    budget_total: int = 0
    budget_default_request: int = 4000
    rate_limits: dict[str, tuple[int, float]] | None = None
    event_loops: int = 1
    listen: str = "127.0.0.1:0"
    limits: dict[str, Any] = field(default_factory=dict)  # [limits]: GatewayLimits keys
    extra_toml: str = ""  # appended verbatim ([metrics], [access_log], ...)

    def render(self) -> str:
        out = [
            "[server]",
            f"listen = {toml_value(self.listen)}",
            f"state_dir = {toml_value(self.state_dir)}",
            f"event_loops = {self.event_loops}",
            "",
            "[tls]",
            f"certificate = {toml_value(self.pki.server_cert)}",
            f"private_key = {toml_value(self.pki.server_key)}",
            f"trust_bundle = {toml_value(self.pki.ca)}",
            "",
            "[secret]",
            f"file = {toml_value(self.secret_file)}",
            "",
            "[budgets]",
            f"total = {self.budget_total}",
            f"default_request = {self.budget_default_request}",
            "",
        ]
        if self.rate_limits:
            out.append("[policy.rate_limits]")
            for k, (limit, window) in self.rate_limits.items():
                out.append(f"{k} = [{int(limit)}, {float(window)!r}]")
            out.append("")
        if self.limits:
            out.append("[limits]")
            out += [f"{k} = {toml_value(v)}" for k, v in self.limits.items()]
            out.append("")
        for ident in self.identities:
            out += [
                "[[identity]]",
                f"spiffe_id = {toml_value(ident.spiffe_id)}",
                f"principal_id = {toml_value(ident.principal_id)}",
                f"roles = {toml_value(list(ident.roles))}",
                f"attributes = {toml_value(dict(ident.attributes))}",
                "",
            ]
        for table_name, tables in (("driver", self.drivers), ("capability", self.capabilities)):
            for t in tables:
                out.append(f"[[{table_name}]]")
                out += [f"{k} = {toml_value(v)}" for k, v in t.items()]
                out.append("")
        if self.extra_toml:
            out.append(self.extra_toml)
        return "\n".join(out)


def write_secret(path: str, secret: str) -> None:
    """The HMAC secret file (one line, 0600), exactly as the sidecar reads it."""
    if "\n" in secret or "\r" in secret or not secret:
        raise SidecarError("the token secret must be one non-empty line")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")


# ---- the process ---------------------------------------------------------------------------


class Sidecar:
    """One `capgate serve --config FILE` child: start, wait for readiness, reload, stop."""

    def __init__(self, binary: str, config_path: str) -> None:
        self.binary = binary
        self.config_path = config_path
        self.port: int | None = None
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[str] | None = None
        self._lines: collections.deque[str] = collections.deque(maxlen=2000)
        self._seen = 0  # lines read so far (monotonic, unlike the bounded deque)
        self._cond = threading.Condition()

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def log_text(self) -> str:
        with self._cond:
            return "".join(self._lines)

    def _pump(self, stream: Any) -> None:
        for line in stream:
            with self._cond:
                self._lines.append(line)
                self._seen += 1
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _wait_for(self, pattern: re.Pattern[str], after: int, timeout: float,
                  refuse: re.Pattern[str] | None = None) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                start = max(0, len(self._lines) - (self._seen - after))
                for line in list(self._lines)[start:]:
                    m = pattern.search(line)
                    if m:
                        return m
                    if refuse is not None and refuse.search(line):
                        raise SidecarError(f"capgate refused: {line.strip()}")
                if self._proc is not None and self._proc.poll() is not None:
                    raise SidecarError(
                        f"capgate exited with status {self._proc.returncode}:\n{self.log_text()[-2000:]}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SidecarError(
                        f"capgate: no {pattern.pattern!r} within {timeout}s:\n{self.log_text()[-2000:]}"
                    )
                self._cond.wait(min(left, 0.2))

    def start(self, timeout: float = 20.0) -> None:
        with self._cond:
            mark = self._seen
        self._proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.config_path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C in the test runner must not race our SIGTERM
        )
        threading.Thread(target=self._pump, args=(self._proc.stderr,), daemon=True,
                         name=f"capgate-log-{self._proc.pid}").start()
        m = self._wait_for(_LISTENING, mark, timeout)
        self.host, self.port = m.group(1).strip("[]"), int(m.group(2))

    def reload(self, expected_rules: int, timeout: float = 10.0) -> None:
        """SIGHUP, then wait until the sidecar says it loaded *expected_rules* identity rules."""
        if self._proc is None or self._proc.poll() is not None:
            raise SidecarError("capgate is not running")
        with self._cond:
            mark = self._seen
        self._proc.send_signal(signal.SIGHUP)
        wanted = re.compile(rf"reload: {expected_rules} identity rules loaded")
        self._wait_for(wanted, mark, timeout, refuse=_REFUSED)

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
