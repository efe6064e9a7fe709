"""Hostile-peer HTTP/2 over TLS for the attack harness: raw frame bytes (so the harness can send
what a well-behaved library never would: HPACK bombs, endless CONTINUATIONs, zero-length
header names, padding-only DATA) and a connection that notices how the server cut it (GOAWAY
code, RST_STREAMs, EOF)."""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED = 0x1, 0x1, 0x4, 0x8
INITIAL_WINDOW_SIZE = 0x4
GOAWAY_NAMES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
                4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM",
                8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM",
                12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}


def frame(ftype: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream & 0x7FFFFFFF) + payload


def settings(pairs: dict[int, int] | None = None) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in (pairs or {}).items()))


def request_block(path: str, extra: list[tuple[str, str]] | None = None, content_length: int | None = None) -> bytes:
    """An HPACK block for a POST to `path`, literals never indexed (a fresh encoder each time,
    so the server's dynamic table is not touched)."""
    enc = hpack.Encoder()
    h = [(":method", "POST"), (":scheme", "https"), (":path", path), (":authority", "localhost"),
         ("content-type", "application/json")]
    if content_length is not None:
        h.append(("content-length", str(content_length)))
    return enc.encode(h + (extra or []), huffman=False)


def literal_incremental(name: bytes, value: bytes) -> bytes:
    """Literal with incremental indexing, new name (RFC 7541 6.2.1), 7-bit lengths via hpack."""
    return b"\x40" + _str(name) + _str(value)


def _str(b: bytes) -> bytes:
    return _int(len(b), 7) + b


def _int(n: int, prefix: int) -> bytes:
    mx = (1 << prefix) - 1
    if n < mx:
        return bytes([n])
    out = [mx]
    n -= mx
    while n >= 128:
        out.append((n % 128) + 128)
        n //= 128
    out.append(n)
    return bytes(out)


class Conn:
    """One attacking connection: TLS (optionally with a client cert) + HTTP/2 preface."""

    def __init__(self, port: int, ctx: ssl.SSLContext, peer_settings: dict[int, int] | None = None,
                 ack_settings: bool = True, timeout: float = 5.0):
        self.goaway: int | None = None
        self.rst_received = 0
        self.closed = False
        self.cut_reason = ""
        self.buf = b""
        self.ack_settings = ack_settings
        self.frames_in = 0
        self.headers_in = 0
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.send(PREFACE + settings(peer_settings))

    def send(self, data: bytes, timeout: float = 2.0) -> bool:
        """False when the server closed (reset/EOF) or stopped reading (timeout)."""
        if self.closed:
            return False
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(data)
            return True
        except (socket.timeout, TimeoutError):
            return False
        except (OSError, ssl.SSLError) as e:
            self._drain()  # a GOAWAY sent before the close may still be readable
            self._cut("write: " + type(e).__name__)
            return False

    def _drain(self) -> None:
        try:
            self.sock.settimeout(0.05)
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
                self._parse()
        except (OSError, ssl.SSLError, ValueError):
            pass

    def _cut(self, why: str) -> None:
        if not self.closed:
            self.closed = True
            self.cut_reason = why

    def poll(self, wait: float = 0.0) -> None:
        """Reads what is there (without blocking past `wait`) and parses frames."""
        if self.closed:
            return
        end = time.monotonic() + wait
        while True:
            left = max(0.0, end - time.monotonic())
            if not self.sock.pending():
                r, _, _ = select.select([self.sock], [], [], left)
                if not r:
                    return
            try:
                self.sock.settimeout(0.0)
                chunk = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                if time.monotonic() >= end:
                    return
                continue
            except (OSError, ssl.SSLError) as e:
                self._cut("read: " + type(e).__name__)
                return
            if not chunk:
                self._cut("eof")
                return
            self.buf += chunk
            self._parse()
            if time.monotonic() >= end and not self.sock.pending():
                return

    def _parse(self) -> None:
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + n:
                return
            ftype, flags = self.buf[3], self.buf[4]
            payload = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            self.frames_in += 1
            if ftype == GOAWAY and len(payload) >= 8:
                self.goaway = int.from_bytes(payload[4:8], "big")
            elif ftype == HEADERS:
                self.headers_in += 1
            elif ftype == RST_STREAM:
                self.rst_received += 1
            elif ftype == SETTINGS and not flags & ACK and self.ack_settings:
                self.send(frame(SETTINGS, ACK, 0))

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True
