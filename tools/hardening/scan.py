"""`make scan`: testssl.sh (Debian) and sslyze (PyPI) against a release demo sidecar.

Expected: TLS 1.3 only, no finding above LOW. The sidecar requires ALPN h2 and a client
certificate. testssl.sh runs against the demo as shipped (strict ALPN), through its
`openssl s_client` with an LD_PRELOAD shim that offers ALPN h2 and the demo agent alice's
certificate. sslyze cannot offer ALPN at all (nassl has no ALPN API), so it scans a SECOND demo
instance started with `capgate serve --allow-missing-alpn` (off by default: a hello without any
ALPN extension may then complete; one offering ALPN without h2 is still refused), presenting
alice's certificate (`--cert/--key`). Before that the script checks that the strict instance
refuses a hello without ALPN and the permissive one accepts it, and says so in the summary.
The raw outputs go to bench/reports/<date>-<commit>-scan/; the summary is printed and written
as summary.md. Exit status 0 only when both scanners ran, only TLS 1.3 is accepted and no
finding is above LOW.

Usage: scan.py [--binary PATH] [--out DIR] [--testssl PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from sidecar import Sidecar, commit, load, release_binary, report_dir  # noqa: E402

ABOVE_LOW = {"MEDIUM", "HIGH", "CRITICAL"}


def build_shim(work: str) -> str:
    """Compiles alpn_shim.c (LD_PRELOAD: ALPN h2 and the client certificate on every SSL the
    scanner's openssl creates)."""
    so = os.path.join(work, "alpn_shim.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", so, os.path.join(os.path.dirname(__file__), "alpn_shim.c"),
                    "-ldl", "-lssl"], check=True)
    return so


def run_testssl(testssl: str, sc: Sidecar, out: str, shim: str) -> tuple[list[dict], list[str]]:
    jf = os.path.join(out, "testssl.json")
    for f in (jf, os.path.join(out, "testssl.log")):
        if os.path.exists(f):
            os.remove(f)
    cert, key = sc.cert("alice")
    env = dict(os.environ, LD_PRELOAD=shim, CAPGATE_SCAN_CERT=cert, CAPGATE_SCAN_KEY=key)
    # --ssl-native: every check through `openssl s_client` (which the shim reaches); testssl's
    # own bash-socket ClientHellos carry no ALPN and would only see the refusal.
    # --add-ca: the demo's private CA, so the chain of trust is checked against it.
    cmd = [testssl, "--quiet", "--color", "0", "--warnings", "off", "--openssl-timeout", "10", "--ssl-native",
           "--add-ca", sc.ca,
           "--jsonfile", jf, "--logfile", os.path.join(out, "testssl.log"), f"127.0.0.1:{sc.port}"]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=1800, env=env)
    findings = json.load(open(jf))
    if isinstance(findings, dict):  # the pretty form nests them
        findings = [f for sc in findings.get("scanResult", []) for v in sc.values() if isinstance(v, list) for f in v]
    protos = [f"{f['id']}: {f['finding']}" for f in findings if f.get("id") in
              ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")]
    return findings, protos


def run_sslyze(sc: Sidecar, out: str) -> dict:
    jf = os.path.join(out, "sslyze.json")
    cert, key = sc.cert("alice")
    cmd = [sys.executable, "-m", "sslyze", "--cert", cert, "--key", key, "--json_out", jf,
           "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--elliptic_curves",
           "--reneg", "--resum", "--compression", "--heartbleed", "--openssl_ccs", "--robot", "--fallback",
           "--early_data", "--ems", "--certinfo", "--certinfo_ca_file", sc.ca, "--mozilla_config", "disable", f"127.0.0.1:{sc.port}"]
    with open(os.path.join(out, "sslyze.txt"), "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    return json.load(open(jf))


def sslyze_summary(doc: dict) -> tuple[dict, list[str]]:
    res = doc["server_scan_results"][0]
    if res.get("scan_status") != "COMPLETED":
        return {"status": res.get("scan_status"), "error": str(res.get("connectivity_error_trace"))[-300:]}, ["sslyze did not connect"]
    r = res["scan_result"]
    out, problems = {}, []
    for key, name in [("ssl_2_0_cipher_suites", "SSLv2"), ("ssl_3_0_cipher_suites", "SSLv3"),
                      ("tls_1_0_cipher_suites", "TLS 1.0"), ("tls_1_1_cipher_suites", "TLS 1.1"),
                      ("tls_1_2_cipher_suites", "TLS 1.2"), ("tls_1_3_cipher_suites", "TLS 1.3")]:
        x = r.get(key, {})
        if x.get("status") != "COMPLETED":
            out[name] = f"scan {x.get('status')}"
            continue
        acc = [c["cipher_suite"]["name"] for c in x["result"]["accepted_cipher_suites"]]
        out[name] = acc or "not accepted"
        if acc and name != "TLS 1.3":
            problems.append(f"{name} accepted: {acc}")
    def res_of(k):
        x = r.get(k, {})
        return x.get("result") if x.get("status") == "COMPLETED" else {"status": x.get("status")}
    curves = res_of("elliptic_curves") or {}
    out["groups"] = [c["name"] for c in curves.get("supported_curves", []) or []]
    hb, ccs, robot = res_of("heartbleed"), res_of("openssl_ccs_injection"), res_of("robot")
    out["heartbleed"] = hb.get("is_vulnerable_to_heartbleed")
    out["ccs_injection"] = ccs.get("is_vulnerable_to_ccs_injection")
    out["robot"] = robot.get("robot_result")
    reneg = res_of("session_renegotiation") or {}
    out["insecure_renegotiation"] = reneg.get("supports_secure_renegotiation") is False
    out["client_initiated_reneg_dos"] = reneg.get("is_vulnerable_to_client_renegotiation_dos")
    comp = res_of("tls_compression") or {}
    out["compression"] = comp.get("supports_compression")
    early = res_of("tls_1_3_early_data") or {}
    out["early_data_0rtt"] = early.get("supports_early_data")
    fb = res_of("tls_fallback_scsv") or {}
    out["fallback_scsv"] = fb.get("supports_fallback_scsv")
    resum = res_of("session_resumption") or {}
    out["resumption"] = {k: v for k, v in resum.items() if "result" in k or "successful" in k}
    cert = res_of("certificate_info") or {}
    deps = cert.get("certificate_deployments") or [{}]
    trust = {p["trust_store"]["name"]: p["was_validation_successful"] for p in deps[0].get("path_validation_results", [])}
    # The public stores cannot know the demo's private CA; the custom store (--certinfo_ca_file) can.
    out["certificate_chain_trusted_by_demo_ca"] = trust.get("Supplied CA file")
    ems = res_of("tls_extended_master_secret") or {}
    out["extended_master_secret"] = ems.get("supports_ems_extension")
    for bad, why in [(out["heartbleed"], "heartbleed"), (out["ccs_injection"], "CCS injection"),
                     (out["client_initiated_reneg_dos"], "client renegotiation DoS"), (out["compression"], "compression (CRIME)"),
                     (out["early_data_0rtt"], "0-RTT early data")]:
        if bad:
            problems.append(why)
    if out["certificate_chain_trusted_by_demo_ca"] is not True:
        problems.append(f"certificate chain not validated against the demo CA: {trust}")
    if out["robot"] and "NOT_VULNERABLE" not in str(out["robot"]):
        problems.append(f"ROBOT: {out['robot']}")
    return out, problems


def no_alpn_handshake(sc: Sidecar) -> str:
    """'accepted' or the error of a TLS 1.3 handshake offering no ALPN, with alice's certificate."""
    import socket
    import ssl
    ctx = sc.tls_context("alice", alpn=None)
    try:
        with socket.create_connection(("127.0.0.1", sc.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.settimeout(3)
                try:
                    s.recv(1)  # TLS 1.3: a refusal of the client's flight arrives after its Finished
                except (socket.timeout, TimeoutError):
                    pass
                return "accepted" if s.selected_alpn_protocol() is None else f"negotiated {s.selected_alpn_protocol()}"
    except (OSError, ssl.SSLError) as e:
        return f"refused ({type(e).__name__}: {str(e)[:80]})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--testssl", default=shutil.which("testssl") or shutil.which("testssl.sh") or "/usr/bin/testssl")
    a = ap.parse_args()
    binary = a.binary or release_binary()
    out = a.out or report_dir("scan")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="capgate-scan-")
    shim = build_shim(work)
    sc = Sidecar(binary, os.path.join(work, "strict"))
    print(f"scan: {binary} on 127.0.0.1:{sc.port}; load {load()}; raw outputs in {out}", flush=True)
    try:
        strict_no_alpn = no_alpn_handshake(sc)
        findings, protos = run_testssl(a.testssl, sc, out, shim)
    finally:
        sc.stop()
    lax = Sidecar(binary, os.path.join(work, "allow-missing-alpn"), extra_args=("--allow-missing-alpn",))
    print(f"sslyze: a second demo instance with --allow-missing-alpn on 127.0.0.1:{lax.port}", flush=True)
    try:
        lax_no_alpn = no_alpn_handshake(lax)
        sy, sy_problems = sslyze_summary(run_sslyze(lax, out))
    finally:
        lax.stop()
    strict_ok = strict_no_alpn.startswith("refused")
    if not strict_ok:
        sy_problems.append(f"the default (strict) server completed a handshake without ALPN: {strict_no_alpn}")
    if not lax_no_alpn.startswith("accepted"):
        sy_problems.append(f"the --allow-missing-alpn instance refused a hello without ALPN: {lax_no_alpn}")
    above = [f for f in findings if str(f.get("severity", "")).upper() in ABOVE_LOW]
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.get("severity", "?")] = counts.get(f.get("severity", "?"), 0) + 1
    # SSLv2/SSLv3: Debian's openssl cannot even send them ("not tested due to lack of local
    # support"); the TLS 1.0-1.2 probes show the floor. Counted as not offered, and said so.
    def offered(p: str) -> bool:
        return "not offered" not in p and "lack of local support" not in p
    only13 = (not any(offered(p) for p in protos if not p.startswith("TLS1_3:"))
              and any(p.startswith("TLS1_3:") and offered(p) for p in protos))
    lines = [f"# make scan, commit {commit()}", "",
             f"testssl.sh ({a.testssl}): {len(findings)} findings by severity {counts}; protocols: " + "; ".join(protos),
             "", "testssl.sh findings above LOW:" if above else "testssl.sh: no finding above LOW."]
    lines += [f"- {f.get('severity')} {f.get('id')}: {f.get('finding')}" for f in above]
    lines += ["", "ALPN: capgate refuses a ClientHello without ALPN h2. testssl.sh scanned the default (strict) "
              "demo through an LD_PRELOAD shim offering ALPN h2; sslyze (no ALPN API) scanned a second demo "
              "instance started with `capgate serve --allow-missing-alpn` (a hello WITHOUT ALPN may complete; "
              "one offering ALPN without h2 is still refused; default off).",
              f"- default server, TLS 1.3 hello without ALPN: {strict_no_alpn}",
              f"- --allow-missing-alpn server, same hello: {lax_no_alpn}"]
    lines += ["", "sslyze (client certificate: demo agent alice; server: --allow-missing-alpn):"]
    lines += [f"- {k}: {v}" for k, v in sy.items()]
    lines += ["", "sslyze problems: " + ("; ".join(sy_problems) if sy_problems else "none")]
    ok = bool(findings) and only13 and not above and not sy_problems
    lines += ["", f"Result: {'PASS' if ok else 'FAIL'} (TLS 1.3 only: {only13}; above LOW: {len(above)}; sslyze: {len(sy_problems)})"]
    text = "\n".join(lines) + "\n"
    open(os.path.join(out, "summary.md"), "w").write(text)
    print(text, flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
