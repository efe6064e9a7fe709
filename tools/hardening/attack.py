"""`make attack`: every flood of docs/hardening.md against a release demo sidecar while a legit
agent on the same host measures its latency (issue 14, "Live attacks").

The agent (`alice`) keeps one warm mTLS HTTP/2 connection and sends `request_capabilities`
every 10 ms (it moves to a fresh connection before the server's streams-per-connection cap,
outside the measurement), and once a second opens a brand-new connection for one request (up
to 3 tries 100 ms apart): a flood must neither slow the warm connection nor lock new ones out.
First the idle baseline, then each attack for its window from other processes (HTTP/2 ones as
`bob`, from 127.0.0.1 like the agent), with a pause between attacks.

Per attack: agent p50/p99 during it vs idle, agent errors (warm-connection requests that failed,
fresh connections that failed all 3 tries), server RSS growth (max VmRSS during the attack and
the settle pause minus VmRSS before it) and CPU seconds, whether the server cut the attackers
(connections it closed, GOAWAY codes, RST_STREAMs). Goal (issue 14): p99 <= max(5 x idle p99,
idle p99 + 20 ms), RSS growth <= 64 MiB, attacker cut, no agent error.

Usage: attack.py [--seconds 12] [--only a,b] [--binary PATH] [--out DIR] [--docs docs/hardening.md]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from attacks import ATTACKS, MIN_SECONDS, worker  # noqa: E402
from sidecar import Sidecar, commit, load, release_binary, report_dir  # noqa: E402

import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402

BODY = json.dumps({"goal": "list invoices"}).encode()
HEADERS = [(":method", "POST"), (":scheme", "https"), (":path", "/v1/request_capabilities"),
           (":authority", "localhost"), ("content-type", "application/json")]


class AgentConn:
    """A well-behaved h2 client connection (python-h2) for the measuring agent."""

    def __init__(self, port: int, ctx: ssl.SSLContext, timeout: float = 5.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.sock.settimeout(timeout)
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())
        self.streams = 0

    def request(self) -> int:
        """One request_capabilities; returns the HTTP status (raises on a transport failure)."""
        sid = self.h2.get_next_available_stream_id()
        self.streams += 1
        self.h2.send_headers(sid, HEADERS + [("content-length", str(len(BODY)))])
        self.h2.send_data(sid, BODY, end_stream=True)
        self.sock.sendall(self.h2.data_to_send())
        status = 0
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            for ev in self.h2.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    status = int(dict(ev.headers)[":status"])
                elif isinstance(ev, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    raise ConnectionError(f"stream reset {ev.error_code}")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    raise ConnectionError(f"GOAWAY {ev.error_code}")
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    out = self.h2.data_to_send()
                    if out:
                        self.sock.sendall(out)
                    return status
            out = self.h2.data_to_send()
            if out:
                self.sock.sendall(out)

    def close(self) -> None:
        try:
            self.h2.close_connection()
            self.sock.sendall(self.h2.data_to_send())
        except Exception:  # noqa: BLE001
            pass
        self.sock.close()


def agent_main(port: int, pki: str, path: str, stop_file: str, interval: float) -> None:
    """Writes one line per event to `path`: `w <t> <latency_s> <ok>` for warm-connection requests,
    `p <t> <ok> <tries>` for fresh-connection probes."""
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(f"{pki}/agents/alice.pem", f"{pki}/agents/alice.key")
    ctx.set_alpn_protocols(["h2"])
    out = open(path, "w", buffering=1)
    conn = None
    next_probe = time.time() + 1
    while not os.path.exists(stop_file):
        t0 = time.time()
        if conn is None or conn.streams >= 400:  # well under maxStreamsPerConnection (1000)
            # Rolling over to a fresh warm connection is a new connection: a failure is booked
            # with the fresh-connection probes (`r`), and the old one keeps serving meanwhile.
            try:
                fresh = AgentConn(port, ctx)
                fresh.request()  # warm it: the handshake is not part of the measurement
                if conn is not None:
                    conn.close()
                conn = fresh
            except Exception as e:  # noqa: BLE001
                out.write(f"r {time.time():.4f} 0 1 {type(e).__name__}:{str(e)[:50].replace(' ', '_')}\n")
                if conn is None:
                    time.sleep(0.1)
                    continue
            t0 = time.time()
        try:
            s = time.perf_counter()
            status = conn.request()
            lat = time.perf_counter() - s
            out.write(f"w {t0:.4f} {lat:.6f} {1 if status == 200 else 0} {status}\n")
        except Exception as e:  # noqa: BLE001 - every failure is an agent error
            out.write(f"w {t0:.4f} 0 0 {type(e).__name__}:{str(e)[:60].replace(' ', '_')}\n")
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
            conn = None
        if time.time() >= next_probe:
            next_probe = time.time() + 1
            ok, tries, why = 0, 0, ""
            for tries in range(1, 4):
                try:
                    c = AgentConn(port, ctx, timeout=3)
                    ok = 1 if c.request() == 200 else 0
                    c.close()
                    if ok:
                        break
                except Exception as e:  # noqa: BLE001
                    why = type(e).__name__ + ":" + str(e)[:50].replace(" ", "_")
                time.sleep(0.1)
            out.write(f"p {time.time():.4f} {ok} {tries} {why or '-'}\n")
        spent = time.time() - t0
        if spent < interval:
            time.sleep(interval - spent)
    out.close()


def read_agent(path: str) -> tuple[list, list]:
    warm, probes = [], []
    for line in open(path):
        f = line.split()
        if f[0] == "w" and len(f) >= 4:
            warm.append((float(f[1]), float(f[2]), f[3] == "1", f[4] if len(f) > 4 else ""))
        elif f[0] in ("p", "r") and len(f) >= 4:
            probes.append((float(f[1]), f[2] == "1", int(f[3]), f[4] if len(f) > 4 else ""))
    return warm, probes


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def window(warm, probes, a: float, b: float) -> dict:
    lat = [w[1] for w in warm if a <= w[0] < b and w[2]]
    errs = [w[3] for w in warm if a <= w[0] < b and not w[2]]
    pr = [p for p in probes if a <= p[0] < b]
    return {"n": len(lat), "p50_ms": pct(lat, 0.50) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
            "max_ms": max(lat) * 1000 if lat else float("nan"), "warm_errors": len(errs),
            "warm_error_kinds": sorted(set(errs))[:3], "probes": len(pr),
            "probe_failed": sum(1 for p in pr if not p[1]), "probe_retried": sum(1 for p in pr if p[2] > 1),
            "probe_fail_kinds": sorted({p[3] for p in pr if p[2] > 1 or not p[1]})}


class Sampler(threading.Thread):
    def __init__(self, sc: Sidecar):
        super().__init__(daemon=True)
        self.sc = sc
        self.samples: list[tuple[float, int, int]] = []
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            m = self.sc.memory()
            if m:
                self.samples.append((time.time(), m.get("VmRSS", 0), m.get("fds", 0)))
            time.sleep(0.2)

    def max_between(self, a: float, b: float) -> tuple[int, int]:
        xs = [s for s in self.samples if a <= s[0] <= b]
        return (max((s[1] for s in xs), default=0), max((s[2] for s in xs), default=0))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=12.0, help="attack window (some attacks use longer)")
    ap.add_argument("--idle", type=float, default=15.0, help="idle baseline seconds")
    ap.add_argument("--settle", type=float, default=4.0, help="pause after each attack")
    ap.add_argument("--interval", type=float, default=0.01, help="agent request interval")
    ap.add_argument("--only", default="")
    ap.add_argument("--quick", action="store_true", help="ignore the longer windows of timeout-cut attacks (harness check)")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    binary = a.binary or release_binary()
    out = a.out or report_dir("attack" + (("-" + a.label) if a.label else ""))
    os.makedirs(out, exist_ok=True)
    names = [n for n in ATTACKS if not a.only or n in a.only.split(",")]
    work = tempfile.mkdtemp(prefix="capgate-attack-")
    sc = Sidecar(binary, work)
    load_start = load()
    print(f"attack: {binary} pid {sc.pid} port {sc.port}; load {load_start}; report in {out}", flush=True)
    ctx = mp.get_context("spawn")
    agent_log = os.path.join(work, "agent.log")
    stop_file = os.path.join(work, "agent.stop")
    agent = ctx.Process(target=agent_main, args=(sc.port, sc.pki, agent_log, stop_file, a.interval), daemon=True)
    agent.start()
    sampler = Sampler(sc)
    sampler.start()
    time.sleep(3)  # agent warm-up
    t_idle = time.time()
    time.sleep(a.idle)
    t_idle_end = time.time()
    rows = []
    phases = []
    rss0 = sc.memory().get("VmRSS", 0)
    for name in names:
        fn, procs, desc = ATTACKS[name]
        secs = a.seconds if a.quick else max(a.seconds, MIN_SECONDS.get(name, 0))
        before = sc.memory()
        cpu0 = sc.cpu_seconds()
        q = ctx.Queue()
        start = time.time()
        ws = [ctx.Process(target=worker, args=(name, sc.port, sc.pki, start + secs, q), daemon=True)
              for _ in range(procs)]
        for w in ws:
            w.start()
        tallies = []
        for _ in ws:
            try:
                tallies.append(q.get(timeout=secs + 60))
            except Exception:  # noqa: BLE001
                tallies.append({"notes": {"attacker_timeout": 1}})
        for w in ws:
            w.join(10)
            if w.is_alive():
                w.kill()
        end = time.time()
        cpu = sc.cpu_seconds() - cpu0
        time.sleep(a.settle)
        after = sc.memory()
        rss_max, fds_max = sampler.max_between(start, time.time())
        tally = {"opened": 0, "cut": 0, "goaways": {}, "rst": 0, "refused": 0, "answers": 0, "notes": {}}
        for t in tallies:
            for k in ("opened", "cut", "rst", "refused", "answers"):
                tally[k] += t.get(k, 0)
            for k in ("goaways", "notes"):
                for kk, v in t.get(k, {}).items():
                    tally[k][kk] = tally[k].get(kk, 0) + v
        phases.append((name, start, end))
        rows.append({"attack": name, "description": desc, "seconds": round(end - start, 1), "attackers": procs,
                     "rss_before_kib": before.get("VmRSS", 0), "rss_max_kib": max(rss_max, after.get("VmRSS", 0)),
                     "rss_after_kib": after.get("VmRSS", 0), "fds_max": fds_max, "server_cpu_s": round(cpu, 2),
                     "tally": tally, "alive": sc.alive(), "load": load().split()[0]})
        print(f"  {name}: done ({tally['opened']} attacking connections, {tally['cut']} cut, "
              f"goaway {tally['goaways']}, rst {tally['rst']}, load {rows[-1]['load']})", flush=True)
        if not sc.alive():
            print("attack: the sidecar died", flush=True)
            break
    open(stop_file, "w").close()
    agent.join(15)
    sampler.stop = True
    warm, probes = read_agent(agent_log)
    idle = window(warm, probes, t_idle, t_idle_end)
    bound = max(5 * idle["p99_ms"], idle["p99_ms"] + 20)
    for r, (name, s, e) in zip(rows, phases):
        w = window(warm, probes, s, e)
        r["agent"] = w
        growth = (r["rss_max_kib"] - r["rss_before_kib"]) / 1024
        r["rss_growth_mib"] = round(growth, 1)
        r["cut"] = r["tally"]["cut"] > 0 or bool(r["tally"]["goaways"]) or r["tally"]["rst"] > 0
        checks = {"p99": w["p99_ms"] <= bound, "rss": growth <= 64, "cut": r["cut"],
                  "no_error": w["warm_errors"] == 0 and w["probe_failed"] == 0 and w["n"] > 0, "alive": r["alive"]}
        r["checks"] = checks
        r["pass"] = all(checks.values())
    final = sc.memory()
    log_tail = open(sc.log_path).read()[-4000:]
    sc.stop()
    result = {"commit": commit(), "binary": binary, "load_start": load_start, "load_end": load(),
              "idle": idle, "p99_bound_ms": round(bound, 2), "rss_start_kib": rss0, "final": final,
              "rows": rows, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    json.dump(result, open(os.path.join(out, "attack.json"), "w"), indent=2)
    open(os.path.join(out, "capgate.log.tail"), "w").write(log_tail)
    table = render(result)
    open(os.path.join(out, "report.md"), "w").write(table)
    print(table, flush=True)
    return 0 if all(r["pass"] for r in rows) else 1


def render(res: dict) -> str:
    i = res["idle"]
    lines = [f"# make attack, {res['date']}, commit {res['commit']}", "",
             f"Load average at start: {res['load_start']}; at end: {res['load_end']}. "
             f"Agent idle: p50 {i['p50_ms']:.2f} ms, p99 {i['p99_ms']:.2f} ms ({i['n']} requests); "
             f"bound for p99 under attack: {res['p99_bound_ms']:.2f} ms. RSS at start {res['rss_start_kib'] // 1024} MiB.", "",
             "| attack | s | agent p50 / p99 ms | agent errors (warm / new conn) | RSS growth MiB | server CPU s | "
             "attacker conns opened / cut | GOAWAY | RST rcvd | result |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["rows"]:
        w, t = r["agent"], r["tally"]
        fails = [k for k, v in r["checks"].items() if not v]
        ga = ", ".join(f"{k} x{v}" for k, v in sorted(t["goaways"].items())) or "-"
        lines.append(f"| {r['attack']} | {r['seconds']} | {w['p50_ms']:.2f} / {w['p99_ms']:.2f} | "
                     f"{w['warm_errors']} / {w['probe_failed']} of {w['probes']} ({w['probe_retried']} retried) | "
                     f"{r['rss_growth_mib']} | {r['server_cpu_s']} | {t['opened']} / {t['cut']} | {ga} | {t['rst']} | "
                     f"{'PASS' if r['pass'] else 'FAIL (' + ', '.join(fails) + ')'} |")
    notes = [f"- {r['attack']}: {r['tally']['notes']}" for r in res["rows"] if r["tally"]["notes"]]
    errs = [f"- {r['attack']}: warm {r['agent']['warm_error_kinds']}, new connections {r['agent']['probe_fail_kinds']}"
            for r in res["rows"] if r["agent"]["warm_error_kinds"] or r["agent"]["probe_fail_kinds"]]
    if notes:
        lines += ["", "Attacker-side notes (refused connects, crashes):"] + notes
    if errs:
        lines += ["", "Agent error kinds:"] + errs
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
