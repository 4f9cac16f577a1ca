#!/usr/bin/env python3
"""Slow-loris check for a running `dagbridge serve` (issue 14, point 9).

Opens N connections that each send a request line and one header, then nothing, and reports:
the server's RSS and /healthz latency (on a keep-alive connection opened before) before and during
the flood; how many of the N were closed by the time all were open (over server.max_connections)
and when the rest were closed (server.header_timeout, counted from each connect); and what happens
to new connections during the flood (refused at once while it fills the cap) and after it.

    scripts/slowloris.py PORT N SERVER_PID [SECONDS]     (SECONDS to watch, default 20)

e.g. with `dagbridge serve` on 127.0.0.1:8080:  scripts/slowloris.py 8080 3000 "$(pgrep -n dagbridge)"
"""
import http.client
import resource
import select
import socket
import sys
import time

port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
watch = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 64)), hard))


def rss_mb():
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))


def healthz_ms(conn, k=30):
    xs = []
    for _ in range(k):
        t = time.time()
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        assert r.status == 200, r.status
        xs.append((time.time() - t) * 1000)
    xs.sort()
    return f"median {xs[len(xs) // 2]:.2f} ms, max {xs[-1]:.2f} ms"


probe = http.client.HTTPConnection("127.0.0.1", port)
healthz_ms(probe, 10)
print(f"before:  RSS {rss_mb()} MB, /healthz {healthz_ms(probe)}")

opened = {}
socks = []
closed = {}


def poll_closed():
    p = select.poll()
    by_fd = {}
    for s in socks:
        if s.fileno() not in closed:
            p.register(s, select.POLLIN)
            by_fd[s.fileno()] = s
    for fd, _ in p.poll(0):
        try:
            data = by_fd[fd].recv(100)
        except ConnectionResetError:
            data = b""
        if data == b"":
            closed[fd] = time.time()


def time_new_connections(k=100):
    """k new connections, one after another: how long until each is closed (or answered)."""
    answered, ms = 0, []
    for _ in range(k):
        t = time.time()
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(2)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answered += s.recv(100).startswith(b"HTTP/1.1 200")
        except OSError:
            pass
        ms.append((time.time() - t) * 1000)
        s.close()
    ms.sort()
    return f"{answered} of {k} answered; connect to close or answer: median {ms[k // 2]:.2f} ms, max {ms[-1]:.2f} ms"


t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    opened[s.fileno()] = time.time()
    socks.append(s)
print(f"opened {n} slow connections in {time.time() - t0:.2f} s")
time.sleep(0.5)
poll_closed()
at_once = set(closed)
print(f"during:  {len(at_once)} of them closed already; RSS {rss_mb()} MB; /healthz {healthz_ms(probe)}")
print(f"         new connections: {time_new_connections()}")
while time.time() < t0 + watch:
    time.sleep(0.05)
    poll_closed()
later = sorted(closed[fd] - opened[fd] for fd in closed if fd not in at_once)
print(f"after {watch:.0f} s: {len(closed)} of {n} closed"
      + (f", the {len(later)} not closed at once {later[0]:.2f}-{later[-1]:.2f} s after connecting" if later else "")
      + f"; RSS {rss_mb()} MB; new connections: {time_new_connections(20)}")
