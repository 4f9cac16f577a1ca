#!/usr/bin/env python3
"""Local HTTP(S) test server for the BridgeHTTP tests.

Binds 127.0.0.1 (port 0 = any free port) and writes the chosen port to --port-file
once it listens. HTTP/1.1 with keep-alive; one thread per connection.

Routes:
  /echo                 JSON with method, path, lower-cased headers and the body text;
                        echoes X-Request-Id back as X-Echo-Id
  /connections          JSON {"connections": N}: TCP connections accepted so far
  /delay?ms=N           answers "done" after N milliseconds
  /hang                 never answers (returns when the client goes away)
  /bytes?n=N[&chunked=1] N bytes of "x" (chunked: without Content-Length)
  /reset                promises 100000 bytes, sends 10, then resets the connection (RST)
  /close                closes the connection without answering
  /continue             a 100 Continue (with header X-Interim) before the final 200 (header X-Final)
  /status?code=N        empty answer with status N
  http://...            (absolute URI = used as a forward proxy) JSON {"proxied": true, "target": URI}
Options:
  --cert/--key          serve HTTPS
  --client-ca FILE      require a client certificate signed by FILE (mutual TLS)
  --exit-on-stdin-eof   exit when stdin closes (the test process that started it ended)
"""
import argparse
import json
import os
import select
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address, tls_context):
        super().__init__(address, Handler)
        self.tls_context = tls_context
        self.connections = 0
        self.lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.lock:
            self.connections += 1
        super().process_request(request, client_address)

    def finish_request(self, request, client_address):
        # TLS handshake on the connection's own thread, so one slow client cannot block accept().
        if self.tls_context is not None:
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        pass  # clients that reset or fail TLS on purpose are expected


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, body=b"", content_type="text/plain", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def route(self):
        body = self.read_body()
        if self.path.startswith("http://"):
            payload = json.dumps({"proxied": True, "target": self.path}).encode()
            return self.reply(200, payload, "application/json")
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        if path == "/echo":
            payload = json.dumps({
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }).encode()
            extra = []
            if self.headers.get("X-Request-Id"):
                extra.append(("X-Echo-Id", self.headers["X-Request-Id"]))
            extra.append(("X-Multi", "one"))
            extra.append(("X-Multi", "two"))
            return self.reply(200, payload, "application/json", extra)
        if path == "/connections":
            with self.server.lock:
                count = self.server.connections
            return self.reply(200, json.dumps({"connections": count}).encode(), "application/json")
        if path == "/delay":
            time.sleep(int(query.get("ms", "1000")) / 1000)
            return self.reply(200, b"done")
        if path == "/hang":
            self.wait_for_client_to_leave(120)
            self.close_connection = True
            return
        if path == "/bytes":
            n = int(query.get("n", "0"))
            if query.get("chunked") == "1":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"x" * 16384
                left = n
                while left > 0:
                    piece = chunk[: min(left, len(chunk))]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    left -= len(piece)
                self.wfile.write(b"0\r\n\r\n")
                return
            return self.reply(200, b"x" * n)
        if path == "/reset":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(0.05)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if path == "/close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if path == "/continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n")
            return self.reply(200, b"final", extra=[("X-Final", "yes")])
        if path == "/status":
            return self.reply(int(query.get("code", "200")))
        return self.reply(404, b"no such route")

    def wait_for_client_to_leave(self, limit):
        deadline = time.time() + limit
        sock = self.connection
        while time.time() < deadline:
            readable, _, _ = select.select([sock], [], [], 0.1)
            if readable:
                try:
                    if not sock.recv(1, socket.MSG_PEEK):
                        return
                except (OSError, ValueError):
                    return


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--client-ca")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="exit when stdin closes, i.e. when the parent test process goes away")
    args = parser.parse_args()

    if args.exit_on_stdin_eof:
        def watch_stdin():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch_stdin, daemon=True).start()

    context = None
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(args.client_ca)

    server = Server(("127.0.0.1", args.port), context)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
