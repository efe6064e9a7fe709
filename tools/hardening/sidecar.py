"""A release `capgate serve` (the embedded demo) started as a child for the hardening harnesses
(`make attack`, `make soak`, `make scan`): its own state dir (dev PKI, secret, audit.db), a free
port learnt from the start-up log, and its memory and descriptors read from /proc/PID (so the
numbers are the server's alone, not the harness's)."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import time

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def release_binary() -> str:
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(out, "capgate")


class Sidecar:
    def __init__(self, binary: str, workdir: str, extra_args: tuple[str, ...] = ()):
        self.binary = binary
        self.state = os.path.join(workdir, "state")
        self.log_path = os.path.join(workdir, "capgate.log")
        os.makedirs(workdir, exist_ok=True)
        self.log = open(self.log_path, "w")
        self.extra_args = tuple(extra_args)
        self.proc = subprocess.Popen([binary, "serve", "--state-dir", self.state, "--listen", "127.0.0.1:0",
                                      *self.extra_args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_port()
        self.pki = os.path.join(self.state, "pki")

    def _wait_port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("capgate exited at start:\n" + open(self.log_path).read())
            m = re.search(r"capgate listening on [^ ]+:(\d+) ", open(self.log_path).read())
            if m:
                return int(m.group(1))
            time.sleep(0.1)
        raise RuntimeError("capgate did not log its port:\n" + open(self.log_path).read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def cert(self, agent: str) -> tuple[str, str]:
        return (os.path.join(self.pki, "agents", agent + ".pem"), os.path.join(self.pki, "agents", agent + ".key"))

    @property
    def ca(self) -> str:
        return os.path.join(self.pki, "ca.pem")

    def tls_context(self, agent: str | None, alpn: list[str] | None = ("h2",)) -> ssl.SSLContext:
        """A TLS 1.3 client context that verifies the sidecar; with `agent`, presents its cert."""
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = False  # the dev server cert names localhost; we dial 127.0.0.1
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        if agent:
            ctx.load_cert_chain(*self.cert(agent))
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def memory(self) -> dict[str, int]:
        """VmRSS and VmHWM (KiB) and open descriptors of the server."""
        out: dict[str, int] = {}
        try:
            for line in open(f"/proc/{self.pid}/status"):
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
            out["fds"] = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            pass
        return out

    def cpu_seconds(self) -> float:
        f = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "nocommit"
    except OSError:
        return "nocommit"


def report_dir(suffix: str) -> str:
    d = os.path.join(ROOT, "bench", "reports", f"{time.strftime('%Y-%m-%d')}-{commit()}-{suffix}")
    os.makedirs(d, exist_ok=True)
    return d


def load() -> str:
    return open("/proc/loadavg").read().strip()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
