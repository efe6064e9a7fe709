"""A small HTTP tool server for the HTTP driver tests (stdlib only).

Binds 127.0.0.1 on an OS-chosen port, prints the port on the first line of stdout, and
serves until its stdin closes (so it never outlives the test process that started it).
`--tls CERT KEY` serves HTTPS; `--client-ca CA` then requires a client certificate from CA.
Every answer is deterministic so two clients (ours and the reference's) can be compared.
"""
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Headers echoed back by /echo: the ones a test sets; client-specific ones (user-agent,
# accept-encoding) are left out so the reference and capgate see identical answers.
ECHOED = ("content-type", "x-tenant", "x-endpoint", "authorization", "x-base")
# How many /slow requests arrived (GET /stats): tests learn that a request is in flight
# without sleeping.
STATS = {"slow_started": 0}
STATS_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: test output stays readable
        pass

    def _send(self, code, body, content_type="application/json", extra=()):
        self.send_response(code)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _route(self):
        path, _, query = self.path.partition("?")
        body = self._body()
        if path == "/echo":
            out = {
                "method": self.command,
                "path": path,
                "query": query,
                "headers": {h: self.headers[h] for h in ECHOED if self.headers.get(h) is not None},
                "body": body.decode("utf-8", "replace"),
            }
            return self._send(200, json.dumps(out).encode())
        if path == "/status/404":
            return self._send(404, b'{"detail": "no such customer"}')
        if path == "/status/500":
            # Longer than 512 bytes with a multi-byte character early on: the message keeps
            # 200 characters of what was read.
            text = "internal failure \u00e9 " + "".join(f"line {i}; " for i in range(200))
            return self._send(500, text.encode(), "text/plain; charset=utf-8")
        if path == "/stats":
            with STATS_LOCK:
                return self._send(200, json.dumps(STATS).encode())
        if path == "/slow":
            with STATS_LOCK:
                STATS["slow_started"] += 1
            time.sleep(10)
            return self._send(200, b'{"late": true}')
        if path == "/big":
            return self._send(200, json.dumps(["x" * 100] * 1000).encode())
        if path == "/html":
            return self._send(200, b"<html><body>not json</body></html>", "text/html")
        if path == "/no-content-type":
            return self._send(200, b"plain words", None)
        if path == "/text":
            return self._send(200, b"caf\xc3\xa9 \xff end", "text/plain")
        if path == "/empty":
            return self._send(200, b"")
        if path == "/redirect":
            return self._send(302, b"", None, [("Location", "/echo")])
        if path == "/pii":
            rows = [{"id": 1, "email": "ann@example.com", "note": "call ann at ann@example.com"},
                    {"id": 2, "email": "bob@example.com", "note": "no contact"}]
            return self._send(200, json.dumps(rows).encode())
        if path == "/pii-error":
            return self._send(500, b"lookup failed for ann@example.com", "text/plain")
        return self._send(404, b"unknown path " + path.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route


class Server(ThreadingHTTPServer):
    # Tests open many connections at once; the default backlog of 5 drops SYNs under load.
    request_queue_size = 256
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients abort on purpose (oversized bodies, timeouts, cancellation): not an error here.
        pass


def main():
    server = Server(("127.0.0.1", 0), Handler)
    args = sys.argv[1:]
    if "--tls" in args:
        i = args.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args[i + 1], args[i + 2])
        if "--client-ca" in args:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args[args.index("--client-ca") + 1])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
