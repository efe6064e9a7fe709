"""`make soak`: a long mixed load against a release demo sidecar, to show that its memory levels
off (issue 14, "Memory under a long mixed load"). Six agent processes (two per demo identity)
with connection churn (a fresh HTTP/2 connection every `--churn` calls) loop over
request_capabilities, grant_capability (most of them over the policy's rate limit, so denied and
traced), invoke in every response mode (summary, table, handle_only, raw), a dry run,
invoke_stream, expand of the handle and explain of the action. Every `--sample` seconds it
prints and records the server's VmRSS, VmHWM, open descriptors and the calls/errors so far.

Usage: soak.py [--minutes N] [--agents 6] [--churn 50] [--sample 60] [--binary PATH] [--out DIR]
Env: SOAK_MINUTES (default 60).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from sidecar import Sidecar, load, release_binary, report_dir  # noqa: E402

AGENTS = [("alice", ["reader"]), ("bob", ["writer"]), ("ops", ["admin"])]
MODES = ["summary", "table", "handle_only", "raw"]


def agent_main(idx: int, url: str, pki: str, churn: int, stop_at: float, counters, lock) -> None:
    from capgate import RemoteKernel
    from weaver_kernel import Principal
    from weaver_kernel.errors import AgentKernelError

    name, roles = AGENTS[idx % len(AGENTS)]
    me = Principal(name, roles)
    cert, key, ca = f"{pki}/agents/{name}.pem", f"{pki}/agents/{name}.key", f"{pki}/ca.pem"
    calls = errors = denied = 0
    kinds: dict[str, int] = {}
    token = None
    k = RemoteKernel.connect(url, cert=cert, key=key, ca=ca, timeout=30.0, streams_per_connection=churn)

    def flush() -> None:
        nonlocal calls, errors, denied
        with lock:
            counters[0] += calls
            counters[1] += errors
            counters[2] += denied
        calls = errors = denied = 0

    def note(kind: str) -> None:
        kinds[kind] = kinds.get(kind, 0) + 1

    it = 0
    last_flush = time.monotonic()
    while time.time() < stop_at:
        it += 1
        try:
            if it % 10 == 0:  # churn beyond the client's own stream cap: a brand-new client
                k.close()
                k = RemoteKernel.connect(url, cert=cert, key=key, ca=ca, timeout=30.0, streams_per_connection=churn)
            goal = "list invoices" if it % 2 else "create a task"
            reqs = k.request_capabilities(goal)
            calls += 1
            if not reqs:
                continue
            req = reqs[0]
            try:
                token = k.get_token(req, me, justification=f"soak {idx} {it}")
                calls += 1
            except AgentKernelError as e:  # rate limited (most of them) or not allowed for this role
                calls += 1
                denied += 1
                note(getattr(e, "code", type(e).__name__))
                if it % 7 == 0:
                    k.explain_denial(req, me, justification="soak")
                    calls += 1
            if token is None or token.capability_id != req.capability_id:
                continue
            args = {"operation": "list_invoices"} if "invoices" in token.capability_id else {}
            for mode in MODES:
                try:
                    frame = asyncio.run(k.invoke(token, principal=me, args=args, response_mode=mode))
                    calls += 1
                except AgentKernelError as e:
                    calls += 1
                    note("invoke:" + str(getattr(e, "code", type(e).__name__)))
                    if getattr(e, "status", 0) >= 500:
                        errors += 1
                    token = None
                    break
                if mode == "handle_only" and frame.handle is not None:
                    try:
                        k.expand(frame.handle, query={"limit": 2}, principal=me)
                    except AgentKernelError as e:
                        note("expand:" + str(getattr(e, "code", type(e).__name__)))
                    calls += 1
                k.explain(frame.action_id)
                calls += 1
            if token is not None:
                asyncio.run(k.invoke(token, principal=me, args=args, dry_run=True))
                calls += 1

                async def stream() -> int:
                    n = 0
                    async for _ in k.invoke_stream(token, principal=me, args=args):
                        n += 1
                    return n
                asyncio.run(stream())
                calls += 1
        except AgentKernelError as e:
            code = str(getattr(e, "code", type(e).__name__))
            note("error:" + code)
            errors += 1
            time.sleep(0.2)
        except Exception as e:  # noqa: BLE001 - a soak counts every failure, it does not stop
            note("error:" + type(e).__name__)
            errors += 1
            time.sleep(0.2)
        if time.monotonic() - last_flush > 2:
            flush()
            last_flush = time.monotonic()
    flush()
    k.close()
    with open(os.environ.get("SOAK_KINDS_DIR", "/tmp") + f"/soak-kinds-{idx}.json", "w") as f:
        json.dump(kinds, f)


def kernel_stats(url: str, pki: str) -> list:
    """The kernel's counters (the `stats` verb, as ops): grants, denials, invocations, handle
    stores (resident handles are min(handle stores, 10,000) while none expired: TTL 1 h)."""
    try:
        from capgate import RemoteKernel
        with RemoteKernel.connect(url, cert=f"{pki}/agents/ops.pem", key=f"{pki}/agents/ops.key",
                                  ca=f"{pki}/ca.pem", timeout=30.0) as k:
            st = k.stats
        return [st.grants, st.denials, st.invocations, st.handle_stores]
    except Exception as e:  # noqa: BLE001 - a sample must not stop the soak
        return [f"error:{type(e).__name__}", "", "", ""]


def size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def render(out: str) -> str:
    """report.md from soak.csv and soak.json: the minute-by-minute table and whether RSS
    levelled off (its growth over the last half of the run against the first half)."""
    rows = list(csv.DictReader(open(os.path.join(out, "soak.csv"))))
    summ = json.load(open(os.path.join(out, "soak.json")))
    rss = [int(r["rss_kib"]) for r in rows if r["rss_kib"]]
    half = len(rss) // 2
    first, second = (rss[half] - rss[0], rss[-1] - rss[half]) if len(rss) > 2 else (0, 0)
    lines = [f"# make soak: {summ['minutes']} min, {summ['agents']} agents", "",
             f"{summ['calls']} calls, {summ['errors']} errors, {summ['denied_grants']} grants refused "
             f"(outcomes {summ['outcomes']}). RSS {rss[0] // 1024} -> {rss[-1] // 1024} MiB (max {max(rss) // 1024}); "
             f"growth in the first half {first / 1024:.1f} MiB, in the second half {second / 1024:.1f} MiB. "
             f"Descriptors {summ['fds_first']} -> {summ['fds_last']}.", "",
             "| minute | RSS MiB | HWM MiB | fds | calls | calls/s | errors | grants | denials | handle stores | "
             "audit.db MiB | revocations.log KiB | load |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['minute']} | {int(r['rss_kib']) / 1024:.1f} | {int(r['hwm_kib']) / 1024:.1f} | {r['fds']} | "
                     f"{r['calls']} | {r['calls_per_s']} | {r['errors']} | {r['grants']} | {r['denials']} | "
                     f"{r['handle_stores']} | {int(r['audit_db_kib']) / 1024:.1f} | {r['revocations_log_kib']} | {r['load1']} |")
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "report.md"), "w").write(text)
    return text


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        print(render(sys.argv[2]))
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", "60")))
    ap.add_argument("--agents", type=int, default=6)
    ap.add_argument("--churn", type=int, default=50, help="calls per HTTP/2 connection")
    ap.add_argument("--sample", type=float, default=60.0, help="seconds between samples")
    ap.add_argument("--binary", default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    binary = a.binary or release_binary()
    out = a.out or report_dir("soak")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="capgate-soak-")
    os.environ["SOAK_KINDS_DIR"] = work
    sc = Sidecar(binary, work)
    url = f"https://127.0.0.1:{sc.port}"
    print(f"soak: {a.agents} agents for {a.minutes} min against {binary} (pid {sc.pid}, port {sc.port}); "
          f"load {load()}; report in {out}", flush=True)
    ctx = mp.get_context("spawn")
    counters = ctx.Array("q", 3, lock=False)
    lock = ctx.Lock()
    start = time.time()
    stop_at = start + a.minutes * 60
    procs = [ctx.Process(target=agent_main, args=(i, url, sc.pki, a.churn, stop_at, counters, lock), daemon=True)
             for i in range(a.agents)]
    for p in procs:
        p.start()
    rows = []
    header = ["minute", "elapsed_s", "rss_kib", "hwm_kib", "fds", "threads", "calls", "errors", "denied",
              "calls_per_s", "audit_db_kib", "revocations_log_kib", "grants", "denials", "invocations",
              "handle_stores", "load1"]
    print("  ".join(f"{h:>10}" for h in header), flush=True)
    prev_calls, prev_t = 0, start
    n = 0
    failed = False
    while True:
        n += 1
        target = start + n * a.sample
        while time.time() < min(target, stop_at + 5):
            time.sleep(0.5)
            if not sc.alive():
                break
        if not sc.alive():
            print("soak: the sidecar exited", flush=True)
            failed = True
            break
        now = time.time()
        m = sc.memory()
        with lock:
            calls, errors, denied = counters[0], counters[1], counters[2]
        db = sum(os.path.getsize(os.path.join(sc.state, f)) for f in os.listdir(sc.state) if f.startswith("audit.db"))
        row = [round((now - start) / 60, 1), round(now - start), m.get("VmRSS"), m.get("VmHWM"), m.get("fds"),
               m.get("Threads"), calls, errors, denied, round((calls - prev_calls) / max(now - prev_t, 1e-9)),
               db // 1024, size(os.path.join(sc.state, "revocations.log")) // 1024] + kernel_stats(url, sc.pki) + [
               load().split()[0]]
        prev_calls, prev_t = calls, now
        rows.append(row)
        print("  ".join(f"{v!s:>10}" for v in row), flush=True)
        if now >= stop_at:
            break
    for p in procs:
        p.join(60)
    with lock:
        calls, errors, denied = counters[0], counters[1], counters[2]
    kinds: dict[str, int] = {}
    for i in range(a.agents):
        try:
            for kk, v in json.load(open(f"{work}/soak-kinds-{i}.json")).items():
                kinds[kk] = kinds.get(kk, 0) + v
        except FileNotFoundError:
            pass
    final = sc.memory()
    sc.stop()
    with open(os.path.join(out, "soak.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    rss = [r[2] for r in rows if r[2]]
    summary = {
        "minutes": a.minutes, "agents": a.agents, "churn_calls_per_connection": a.churn, "calls": calls,
        "errors": errors, "denied_grants": denied, "outcomes": kinds, "rss_first_kib": rss[0] if rss else None,
        "rss_last_kib": rss[-1] if rss else None, "rss_max_kib": max(rss) if rss else None,
        "hwm_final_kib": final.get("VmHWM"), "fds_first": rows[0][4] if rows else None,
        "fds_last": rows[-1][4] if rows else None, "sidecar_exited": failed, "binary": binary,
    }
    json.dump(summary, open(os.path.join(out, "soak.json"), "w"), indent=2)
    print(json.dumps(summary, indent=2), flush=True)
    print(render(out), flush=True)
    print(f"soak: wrote {out}/soak.csv, soak.json and report.md", flush=True)
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
