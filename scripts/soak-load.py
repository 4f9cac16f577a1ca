#!/usr/bin/env python3
"""Load for scripts/soak.sh: valid signed deliveries plus two hostile clients and slow senders against one
`dagbridge serve`, with its RSS sampled every --interval seconds. Standard library only (raw sockets).

  soak-load.py --port P --pid PID --duration 1800 --csv rss.csv --summary summary.txt [--warmup 300]

Traffic (rates are per second, spread evenly; every request is one connection unless noted):
  valid     signed deliveries that match a rule and are journaled and delivered: GitHub (X-GitHub-Delivery),
            Slack slash commands (form body, timestamped), generic HMAC (timestamped), bearer, none;
            every fifth one on a keep-alive connection reused for a few requests.
  hostile   two clients, each picking at random: random bytes, JSON nested 100 to 100,000 deep, huge JSON up to
            and just over max_body (Content-Length and chunked), broken CloudEvents (binary, structured, batch),
            bad and malformed signatures, stale timestamps, replays of the valid client's deliveries, header
            floods (many headers, one huge header), malformed chunked framing, garbage request lines, unknown
            paths and methods, and (one in fifty) up to 5,000 requests pipelined on one connection.
  slow      a few sockets at a time that stall in the head, trickle a body, or idle after a keep-alive answer;
            each must be closed by the server near server.header_timeout / body_timeout / idle_timeout.

Every RSS mark is a CSV row (elapsed, VmRSS as the lowest and the highest of five reads 0.2 s apart, RssAnon, RssFile, the anonymous part split into malloc's main heap,
its other arenas and the rest, requests so far, 5xx so far); the summary holds
requests by class and status, the 5xx count, the RSS series and the verdict: the largest RSS from --warmup on,
against the RSS at --warmup, must stay within --flat (10 %). A mark's RSS is the lowest of its five reads: what
the process keeps between requests, not the bodies in flight at that instant. Exit 0 when flat, no 5xx and the process lived; 1
otherwise. A "status" that is not a number is what the connection did instead: closed (no answer), reset,
timeout.
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import random
import select
import socket
import threading
import time
import traceback
import uuid
from collections import Counter, deque

p = argparse.ArgumentParser()
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, required=True)
p.add_argument("--pid", type=int, required=True, help="the serve process whose RSS is sampled")
p.add_argument("--duration", type=float, default=1800)
p.add_argument("--interval", type=float, default=30)
p.add_argument("--warmup", type=float, default=300, help="the mark RSS is compared with")
p.add_argument("--flat", type=float, default=0.10)
p.add_argument("--valid-rate", type=float, default=10)
p.add_argument("--hostile-rate", type=float, default=20, help="per hostile client")
p.add_argument("--hostile-clients", type=int, default=2)
p.add_argument("--slow-sockets", type=int, default=6, help="slow senders open at once")
p.add_argument("--max-body", type=int, default=1 << 20)
p.add_argument("--header-timeout", type=float, default=2)
p.add_argument("--body-timeout", type=float, default=3)
p.add_argument("--idle-timeout", type=float, default=4)
p.add_argument("--secret", default="soak-secret")
p.add_argument("--token", default="soak-bearer-token-0123456789")
p.add_argument("--csv", required=True)
p.add_argument("--summary", required=True)
p.add_argument("--requests-csv", help="class,case,status,count of every request")
p.add_argument("--seed", type=int, default=14)
args = p.parse_args()

SECRET = args.secret.encode()
ADDR = (args.host, args.port)
STOP = threading.Event()
lock = threading.Lock()
counts = Counter()  # (class, status) -> n
detail = Counter()  # (class, case, status) -> n
server_errors = []  # (class, case, status, first bytes of the answer)
unexpected = []  # valid deliveries not answered 2xx, slow senders not cut
slowest = {}  # slow sender kind -> longest time until the server closed it
replayable = deque(maxlen=200)  # recent valid deliveries (path, headers, body) for the hostile replays


def record(cls, case, status, answer=b""):
    with lock:
        counts[(cls, str(status))] += 1
        detail[(cls, case, str(status))] += 1
        if isinstance(status, int) and status >= 500:
            server_errors.append((cls, case, status, answer[:200]))


# --- HTTP over raw sockets ---------------------------------------------------------------------------------

def connect(timeout=15):
    s = socket.create_connection(ADDR, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def head(method, path, headers, length=None, chunked=False, keep_alive=False):
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % ADDR]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    elif length is not None:
        lines.append("Content-Length: %d" % length)
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunk(data, sizes):
    out = bytearray()
    i = 0
    while i < len(data):
        n = sizes()
        out += b"%x\r\n" % len(data[i:i + n]) + data[i:i + n] + b"\r\n"
        i += n
    return bytes(out + b"0\r\n\r\n")


def read_answer(s):
    """(status, body) of one answer, or a word for what the connection did instead."""
    r = http.client.HTTPResponse(s)
    try:
        r.begin()
        body = r.read()
        return r.status, body
    except (http.client.RemoteDisconnected, http.client.IncompleteRead, http.client.BadStatusLine):
        return "closed", b""
    except ConnectionResetError:
        return "reset", b""
    except socket.timeout:
        return "timeout", b""
    finally:
        r.close()


def exchange(raw, half_close=False):
    """Sends raw request bytes on a new connection and reads one answer. `half_close`: then shut the
    sending side, as a client that gives up on an unfinished request does (the server sees the end at once
    instead of waiting for its header or body timeout, which the slow senders test)."""
    try:
        s = connect()
    except OSError:
        return "refused", b""
    try:
        try:
            s.sendall(raw)
            if half_close:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) and close before the whole body is in; read what it said
        return read_answer(s)
    except OSError:
        return "reset", b""
    finally:
        s.close()


def post(path, headers, body, chunked=False, keep_alive=False):
    data = chunk(body, lambda: random.randint(1, 65536)) if chunked else body
    return exchange(head("POST", path, headers, len(body), chunked=chunked, keep_alive=keep_alive) + data)


# --- Valid deliveries --------------------------------------------------------------------------------------

def sign(data):
    return hmac.new(SECRET, data, hashlib.sha256).hexdigest()


def valid_delivery(rng):
    """(case, path, headers, body) of a signed delivery a rule matches."""
    kind = rng.choice(["github", "slack", "hmac", "bearer", "none"])
    n = rng.randint(0, 1 << 30)
    if kind == "github":
        body = json.dumps({"ref": "refs/heads/main", "after": "%040x" % n, "repository": {"full_name": "soak/repo"},
                           "pusher": {"name": "soak"}, "commits": [{"id": "%x" % n, "message": "x" * rng.randint(10, 2000)}]}).encode()
        return kind, "/hooks/github", [("Content-Type", "application/json"), ("X-GitHub-Event", "push"),
                                       ("X-GitHub-Delivery", str(uuid.uuid4())), ("X-Hub-Signature-256", "sha256=" + sign(body))], body
    if kind == "slack":
        ts = str(int(time.time()))
        body = ("token=x&team_id=T1&command=%%2Fdeploy&text=service-%d&user_name=soak&trigger_id=%d" % (n, n)).encode()
        return kind, "/hooks/slack", [("Content-Type", "application/x-www-form-urlencoded"), ("X-Slack-Request-Timestamp", ts),
                                      ("X-Slack-Signature", "v0=" + sign(b"v0:" + ts.encode() + b":" + body))], body
    if kind == "hmac":
        ts = str(int(time.time()))
        body = json.dumps({"action": "deploy", "build": n, "pad": "y" * rng.randint(0, 4000)}).encode()
        return kind, "/hooks/hmac", [("Content-Type", "application/json"), ("X-Timestamp", ts),
                                     ("X-Signature", "sha256=" + sign(ts.encode() + b"." + body))], body
    if kind == "bearer":
        body = json.dumps({"action": "deploy", "build": n}).encode()
        return kind, "/hooks/bearer", [("Content-Type", "application/json"), ("Authorization", "Bearer " + args.token),
                                       ("X-Request-Id", str(uuid.uuid4()))], body
    body = json.dumps({"action": "deploy", "build": n, "id": str(uuid.uuid4())}).encode()
    return kind, "/hooks/none", [("Content-Type", "application/json")], body


def valid_client():
    rng = random.Random(args.seed)
    period = 1.0 / args.valid_rate
    nxt = time.monotonic()
    while not STOP.is_set():
        if rng.random() < 0.2:
            # A keep-alive connection carrying a few deliveries.
            batch = [valid_delivery(rng) for _ in range(rng.randint(2, 5))]
            try:
                s = connect()
                for i, (case, path, headers, body) in enumerate(batch):
                    s.sendall(head("POST", path, headers, len(body), keep_alive=i < len(batch) - 1) + body)
                    status, answer = read_answer(s)
                    check_valid(case + "/keep-alive", status, answer)
                    replayable.append((path, headers, body))
                s.close()
            except OSError as e:
                check_valid("keep-alive", "reset", str(e).encode())
            nxt += period * len(batch)
        else:
            case, path, headers, body = valid_delivery(rng)
            status, answer = post(path, headers, body)
            check_valid(case, status, answer)
            replayable.append((path, headers, body))
            nxt += period
        STOP.wait(max(0, nxt - time.monotonic()))


def check_valid(case, status, answer):
    record("valid", case, status, answer)
    if not (isinstance(status, int) and 200 <= status < 300):
        with lock:
            unexpected.append(("valid", case, status, answer[:200]))


# --- Hostile clients ---------------------------------------------------------------------------------------

SOURCES = ["/hooks/github", "/hooks/slack", "/hooks/hmac", "/hooks/bearer", "/hooks/none"]


BIG = {}  # (shape, size bucket) -> body: large documents are built once, or the generator, not the server, is the limit
BIG_LOCK = threading.Lock()


def huge_json(rng, size):
    """A JSON document of about `size` bytes (rounded down to 64 KiB steps), of one of several shapes."""
    shape = rng.choice(["strings", "numbers", "keys", "nested"])
    size = max(65536, size // 65536 * 65536)
    if shape == "strings":
        # One in four matches a rule on the `none` source: a large event journaled and delivered.
        action = "deploy" if rng.random() < 0.25 else "noop"
        return json.dumps({"action": action, "build": rng.randint(0, 1 << 30), "s": ["z" * 1000] * max(1, size // 1004 - 1)}).encode()
    with BIG_LOCK:
        body = BIG.get((shape, size))
    if body is None:
        if shape == "numbers":
            body = json.dumps([rng.random() for _ in range(max(1, size // 21))]).encode()
        elif shape == "keys":
            body = json.dumps({"k%07d" % i: i for i in range(max(1, size // 17))}).encode()
        else:
            depth = 200
            body = b'{"a":' * depth + json.dumps(["w" * 100] * max(1, (size - 6 * depth) // 104)).encode() + b"}" * depth
        with BIG_LOCK:
            BIG[(shape, size)] = body
    return body


def hostile_request(rng):
    """(case, raw bytes) of one hostile request."""
    path = rng.choice(SOURCES)
    case = rng.choice(["random-bytes", "deep-json", "huge-json", "too-large", "chunked", "bad-chunked", "cloudevent",
                       "bad-signature", "stale-timestamp", "replay", "header-flood", "huge-header", "garbage-line",
                       "unknown-path", "wrong-method"])
    if case == "random-bytes":
        body = rng.randbytes(rng.randint(0, 65536))
        ct = rng.choice(["application/json", "application/octet-stream", "text/plain", "application/x-www-form-urlencoded",
                         "application/cloudevents+json", "application/cloudevents-batch+json"])
        return case, head("POST", path, [("Content-Type", ct), ("X-Hub-Signature-256", "sha256=" + rng.randbytes(32).hex())], len(body)) + body
    if case == "deep-json":
        d = rng.choice([100, 255, 256, 257, 1000, 100_000])
        body = (b"[" * d + b"]" * d) if rng.random() < 0.5 else (b'{"a":' * d + b"1" + b"}" * d)
        return case, head("POST", "/hooks/none", [("Content-Type", "application/json")], len(body)) + body
    if case in ("huge-json", "too-large", "chunked"):
        size = args.max_body + rng.randint(1, 65536) if case == "too-large" else rng.randint(args.max_body // 2, args.max_body)
        body = huge_json(rng, size)
        if case == "too-large":
            body += b" " * max(0, size - len(body))  # trailing white space: valid JSON, over the limit
        elif len(body) > args.max_body:
            body = body[:args.max_body]  # truncated: malformed JSON just under the limit
        target = "/hooks/none" if rng.random() < 0.7 else path
        chunked = case == "chunked" or (case == "too-large" and rng.random() < 0.5)
        data = chunk(body, lambda: rng.randint(1, 65536)) if chunked else body
        return case, head("POST", target, [("Content-Type", "application/json")], len(body), chunked=chunked) + data
    if case == "bad-chunked":
        bad = rng.choice([b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nabcdefghij\r\n0\r\n\r\n", b"ffffffffffffffff\r\nabc\r\n",
                          b"3\r\nabc", b"-1\r\nx\r\n0\r\n\r\n", b"1;ext=" + b"e" * 10000 + b"\r\na\r\n0\r\n\r\n"])
        return case, head("POST", "/hooks/none", [("Content-Type", "application/json")], chunked=True) + bad
    if case == "cloudevent":
        kind = rng.choice(["binary", "structured", "batch"])
        if kind == "binary":
            hs = [("Content-Type", "application/json"), ("ce-specversion", rng.choice(["1.0", "0.3", "", "9"])),
                  ("ce-type", "x"), ("ce-source", "/s")]
            if rng.random() < 0.5:
                hs.append(("ce-id", ""))
            if rng.random() < 0.5:
                hs.append(("ce-time", "not a time"))
            body = rng.choice([b"{", b"[]", b'{"a":1}', rng.randbytes(100)])
        elif kind == "structured":
            hs = [("Content-Type", "application/cloudevents+json")]
            body = rng.choice([b"[]", b'{"specversion":"1.0"}', b'{"id":1,"specversion":1}', b'{"id":"x","specversion":"1.0","data_base64":"@@@"}',
                               b'{"id":"x"', json.dumps({"id": "x", "specversion": "1.0", "data": "d" * 100000}).encode()])
        else:
            hs = [("Content-Type", "application/cloudevents-batch+json")]
            body = rng.choice([b"{}", b"[1,2,3]", json.dumps([{"specversion": "1.0"}] * 1000).encode(),
                               json.dumps([{"id": str(i)} for i in range(5000)]).encode()])
        return case + "-" + kind, head("POST", "/hooks/none", hs, len(body)) + body
    if case == "bad-signature":
        path = rng.choice(SOURCES[:4])  # the signed sources
        body = json.dumps({"action": "deploy", "build": rng.randint(0, 1 << 30)}).encode()
        ts = str(int(time.time()))
        variants = {
            "/hooks/github": [("X-Hub-Signature-256", rng.choice(["sha256=" + rng.randbytes(32).hex(), "sha256=zz", "sha1=00", "", "sha256=" + "a" * 100000]))],
            "/hooks/slack": [("X-Slack-Request-Timestamp", ts), ("X-Slack-Signature", rng.choice(["v0=" + rng.randbytes(32).hex(), "v1=00", "v0=" + "0" * 63]))],
            "/hooks/hmac": [("X-Timestamp", rng.choice([ts, "x", "-1", "9" * 40])), ("X-Signature", rng.choice(["sha256=" + rng.randbytes(32).hex(), "md5=", "sha256=" + "g" * 64]))],
            "/hooks/bearer": [("Authorization", rng.choice(["Bearer wrong", "Basic Zm9vOmJhcg==", "Bearer " + "t" * 5000, ""]))],
        }
        return case, head("POST", path, [("Content-Type", "application/json")] + variants[path], len(body)) + body
    if case == "stale-timestamp":
        ts = str(int(time.time()) - rng.choice([301, 3600, 10 ** 9]))
        body = b"command=%2Fdeploy&text=old"
        return case, head("POST", "/hooks/slack", [("Content-Type", "application/x-www-form-urlencoded"), ("X-Slack-Request-Timestamp", ts),
                                                   ("X-Slack-Signature", "v0=" + sign(b"v0:" + ts.encode() + b":" + body))], len(body)) + body
    if case == "replay":
        try:
            rpath, hs, body = replayable[rng.randrange(len(replayable))]
        except (IndexError, ValueError):
            return "replay", head("GET", "/healthz", [])
        hs = list(hs)
        mutate = rng.choice(["exact", "upper-hex", "junk-entry"])
        if mutate != "exact":
            for i, (k, v) in enumerate(hs):
                if k in ("X-Slack-Signature", "X-Signature", "X-Hub-Signature-256"):
                    prefix, _, hexpart = v.partition("=")
                    v = prefix + "=" + (hexpart.upper() if mutate == "upper-hex" else hexpart)
                    hs[i] = (k, v + (", " + prefix + "=" + "0" * 64 if mutate == "junk-entry" else ""))
        return "replay-" + mutate, head("POST", rpath, hs, len(body)) + body
    if case == "header-flood":
        n = rng.choice([100, 1000, 5000])
        hs = [("X-Flood-%d-%s" % (i, rng.randbytes(4).hex()), "v" * rng.randint(1, 60)) for i in range(n)]
        return case, head("POST", path, [("Content-Type", "application/json")] + hs, 2) + b"{}"
    if case == "huge-header":
        return case, head("POST", path, [("Content-Type", "application/json"), ("X-Huge", "h" * rng.choice([8000, 70000, 200000]))], 2) + b"{}"
    if case == "garbage-line":
        return case, rng.choice([rng.randbytes(rng.randint(1, 4096)), b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n",
                                 b"POST /hooks/none HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"POST /hooks/none HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                                 b"POST /hooks/none HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
                                 b"G" * 100000 + b" / HTTP/1.1\r\n\r\n"])
    if case == "unknown-path":
        rnd = "/hooks/%s" % rng.randbytes(rng.randint(1, 40)).hex() if rng.random() < 0.5 else "/%s?%s" % (uuid.uuid4(), "q" * rng.randint(0, 4000))
        return case, head("POST", rnd, [("Content-Type", "application/json")], 2) + b"{}"
    method = rng.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW", "HEAD"])
    return case, head(method, path, [], 0)


def pipeline_flood(rng):
    """Many requests written back to back on one connection while answers are read only as the socket
    makes room: the server must keep at most a bounded backlog. Returns the first answer's status, or
    'short' when fewer answers than requests came back before the server closed."""
    n = rng.choice([100, 1000, 5000])
    one = head("POST", rng.choice(SOURCES[:4]), [("Content-Type", "application/json")], 2, keep_alive=True) + b"{}"
    out = memoryview(one * (n - 1) + head("POST", "/hooks/none", [("Content-Type", "application/json")], 2) + b"{}")
    try:
        s = connect()
    except OSError:
        return "refused"
    s.setblocking(False)
    got = bytearray()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            want_write = [s] if out else []
            r, w, _ = select.select([s], want_write, [], 1)
            if w:
                try:
                    sent = s.send(out[:65536])
                    out = out[sent:]
                except BlockingIOError:
                    pass
            if r:
                data = s.recv(65536)
                if not data:
                    break
                got += data
    except OSError:
        pass
    finally:
        s.close()
    answers = got.count(b"HTTP/1.1 ")
    if answers == 0:
        return "closed"
    if answers < n:
        return "short"
    return int(got[9:12])


def hostile_client(n):
    rng = random.Random(args.seed * 100 + n)
    period = 1.0 / args.hostile_rate
    nxt = time.monotonic()
    while not STOP.is_set():
        if rng.random() < 0.02:
            case, status, answer = "pipeline-flood", pipeline_flood(rng), b""
        else:
            case, raw = hostile_request(rng)
            status, answer = exchange(raw, half_close=case in ("bad-chunked", "garbage-line"))
        record("hostile", case, status, answer)
        nxt += period
        STOP.wait(max(0, nxt - time.monotonic()))


# --- Slow senders ------------------------------------------------------------------------------------------

def slow_sender(n):
    """One slow socket at a time, forever: stall in the head, trickle a body, or idle after an answer. The
    server must close it at its limit: `cut` within 1.5 s of it, `cut late` later, `not cut` when it is still
    open 10 s after the limit (only that fails the run: the connection tests check the timing, and a shared
    2-core machine can delay a timer)."""
    rng = random.Random(args.seed * 1000 + n)
    while not STOP.is_set():
        kind = rng.choice(["head", "body", "idle"])
        limit = {"head": args.header_timeout, "body": args.body_timeout, "idle": args.idle_timeout}[kind]
        try:
            s = connect(timeout=limit + 5)
        except OSError:
            record("slow", kind, "refused")
            STOP.wait(1)
            continue
        closed = False
        started = time.monotonic()
        try:
            if kind == "head":
                s.sendall(b"POST /hooks/none HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                trickle = b"a"
            elif kind == "body":
                s.sendall(head("POST", "/hooks/none", [("Content-Type", "application/json")], 100000, keep_alive=True))
                trickle = b" "
            else:
                s.sendall(head("GET", "/healthz", [], keep_alive=True))
                status, _ = read_answer(s)
                if status != 200:
                    record("slow", kind, status)
                    s.close()
                    continue
                trickle = b""
            started = time.monotonic()
            while time.monotonic() - started < limit + 10:
                readable, _, _ = select.select([s], [], [], 0.25)
                if readable and not s.recv(65536):
                    closed = True
                    break
                if trickle:
                    s.send(trickle)
        except OSError:  # reset, broken pipe: closed by the server
            closed = True
        finally:
            s.close()
        took = time.monotonic() - started
        outcome = "not cut" if not closed else "cut" if took <= limit + 1.5 else "cut late"
        record("slow", kind, outcome)
        with lock:
            slowest[kind] = max(slowest.get(kind, 0), took if closed else float("inf"))
            if outcome == "not cut":
                unexpected.append(("slow", kind, outcome, b"%.1fs" % took))


# --- RSS -----------------------------------------------------------------------------------------------------

def memory(pid):
    """VmRSS, RssAnon, RssFile in kB, and the anonymous RSS split by where glibc malloc keeps it, or None
    when the process is gone. From smaps: `heap` is the main arena ([heap], brk), `arenas` the other malloc
    arenas (anonymous mappings starting on a 64 MiB boundary, glibc's HEAP_MAX_SIZE), `other` the remaining
    anonymous memory (large allocations mmapped on their own, thread stacks, the Swift runtime)."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "State"):
                    out[k] = v.strip()
        split = {"heap": 0, "arenas": 0, "other": 0}
        kind = None
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if line[0] in "0123456789abcdef" and "-" in line.split(" ", 1)[0]:
                    fields = line.split()
                    start = int(fields[0].split("-")[0], 16)
                    path = fields[5] if len(fields) > 5 else ""
                    if path == "[heap]":
                        kind = "heap"
                    elif path == "":
                        kind = "arenas" if start % (64 << 20) == 0 else "other"
                    elif path.startswith("[stack"):
                        kind = "other"
                    else:
                        kind = None
                elif line.startswith("Rss:") and kind:
                    split[kind] += int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    if out.get("State", "").startswith("Z"):
        return None
    m = {k: int(out.get(k, "0 kB").split()[0]) for k in ("VmRSS", "RssAnon", "RssFile")}
    m.update(split)
    return m


died = []  # load threads that stopped on an exception of their own (the run then proves nothing)


def guarded(fn, *a):
    def run():
        try:
            fn(*a)
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            with lock:
                died.append(fn.__name__)
    return threading.Thread(target=run, daemon=True)


def main():
    threads = [guarded(valid_client)]
    threads += [guarded(hostile_client, i) for i in range(args.hostile_clients)]
    threads += [guarded(slow_sender, i) for i in range(args.slow_sockets)]
    marks = []  # (elapsed s, VmRSS kB: lowest and highest of the mark's reads)
    crashed = False
    with open(args.csv, "w") as csv:
        csv.write("elapsed_s,rss_kb,rss_peak_kb,rss_anon_kb,rss_file_kb,malloc_heap_kb,malloc_arenas_kb,other_anon_kb,requests,server_errors\n")

        def sample(elapsed):
            # Five reads 0.2 s apart: the lowest is what the process holds between requests (the mark's
            # value), the highest what it held with requests in flight (a 1 MiB body and its parsed tree
            # add up to ~10 MB for the tens of milliseconds they live).
            reads = []
            for i in range(5):
                m = memory(args.pid)
                if m is None:
                    return False
                reads.append(m)
                if i < 4:
                    time.sleep(0.2)
            m = min(reads, key=lambda r: r["VmRSS"])
            peak = max(r["VmRSS"] for r in reads)
            with lock:
                total = sum(counts.values())
                errors = len(server_errors)
            csv.write("%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
                elapsed, m["VmRSS"], peak, m["RssAnon"], m["RssFile"], m["heap"], m["arenas"], m["other"], total, errors))
            csv.flush()
            marks.append((elapsed, m["VmRSS"], peak))
            return True

        start = time.monotonic()
        sample(0)
        for t in threads:
            t.start()
        k = 1
        while True:
            due = start + k * args.interval
            if due > start + args.duration + 0.5:
                break
            while time.monotonic() < due:
                time.sleep(min(1, due - time.monotonic()))
                if memory(args.pid) is None:
                    crashed = True
                    break
            if crashed or not sample(round(time.monotonic() - start)):
                crashed = True
                break
            k += 1
        STOP.set()
        time.sleep(0.5)

    with lock:
        rows = sorted(counts.items())
        n5xx = len(server_errors)
        errs = list(server_errors)
        bad = list(unexpected)
    base = next((kb for s, kb, _ in marks if s >= args.warmup - 1), None)
    after = [kb for s, kb, _ in marks if s >= args.warmup - 1]
    peak = max(after) if after else None
    flat = base is not None and peak <= base * (1 + args.flat)
    lines = []
    lines.append("requests by class and status:")
    for cls in ("valid", "hostile", "slow"):
        byst = Counter({st: n for (c, st), n in rows if c == cls})
        lines.append("  %-8s %7d  %s" % (cls, sum(byst.values()), "  ".join("%s:%d" % kv for kv in sorted(byst.items()))))
    lines.append("hostile requests by case and status:")
    for case in sorted({c for (cls, c, _) in detail if cls == "hostile"}):
        byst = sorted((st, n) for (cls, c, st), n in detail.items() if cls == "hostile" and c == case)
        lines.append("  %-22s %s" % (case, "  ".join("%s:%d" % kv for kv in byst)))
    lines.append("5xx: %d" % n5xx)
    for e in errs[:10]:
        lines.append("  5xx %s %s %s %r" % e)
    lines.append("slow senders, longest time to the cut: " + "  ".join(
        "%s %.1fs (limit %gs)" % (k, slowest[k], {"head": args.header_timeout, "body": args.body_timeout, "idle": args.idle_timeout}[k])
        for k in sorted(slowest)))
    lines.append("valid deliveries not answered 2xx, slow senders not cut: %d" % len(bad))
    for e in bad[:10]:
        lines.append("  %s %s %s %r" % e)
    lines.append("crash: %s" % ("yes, the process is gone" if crashed else "none"))
    if died:
        lines.append("load threads that failed (see load.err): %s" % ", ".join(died))
    lines.append("RSS MB at %ds marks (lowest of five reads over 0.8 s): %s" % (args.interval, " ".join("%.1f" % (kb / 1024) for _, kb, _ in marks)))
    lines.append("RSS MB at the same marks, highest read: %s" % " ".join("%.1f" % (kb / 1024) for _, _, kb in marks))
    if base is None:
        verdict = "no verdict: the run ended before the %ds mark" % args.warmup
    else:
        verdict = "RSS %s within %d %% after the first %s: %.1f MB at %ds, max %.1f MB after it (%+.1f %%)" % (
            "flat" if flat else "NOT flat", round(args.flat * 100), fmt_minutes(args.warmup), base / 1024, args.warmup, peak / 1024,
            100.0 * (peak - base) / base)
    ok = flat and n5xx == 0 and not crashed and not bad and not died
    lines.append("verdict: %s; %s" % ("PASS" if ok else "FAIL", verdict))
    text = "\n".join(lines) + "\n"
    if args.requests_csv:
        with open(args.requests_csv, "w") as f:
            f.write("class,case,status,count\n")
            for (cls, case, st), n in sorted(detail.items()):
                f.write("%s,%s,%s,%d\n" % (cls, case, st, n))
    with open(args.summary, "w") as f:
        f.write(text)
    print(text, end="")
    return 0 if ok else 1


def fmt_minutes(s):
    return "%g minutes" % (s / 60) if s >= 60 else "%g s" % s


if __name__ == "__main__":
    os._exit(main())
