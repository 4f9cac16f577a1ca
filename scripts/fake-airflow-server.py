#!/usr/bin/env python3
"""Local stand-in peers for the BridgeAirflow tests (127.0.0.1, port chosen by the OS).

Writes its port to --port-file once listening. HTTP/1.1, one thread per connection.

Airflow-like API (/api/v2 and /api/v1), answer chosen by the DAG id:
  ok (200, echoes the run) · s409 · s400 · s404 · s422 · s403 · s408 · s500 · s503 · html404 (HTML page)
  s429s (Retry-After: 7) · s429d (Retry-After as HTTP-date, 120 s ahead) · slow (3 s, then 200) · reset (RST)
  When `expect_auth` is set (POST /_control), any other Authorization answers 401.
Google:  POST /token verifies the RS256 assertion with --pubkey (openssl CLI) and its claims, issues goog-N;
         GET /computeMetadata/v1/instance/service-accounts/default/{token,identity} (Metadata-Flavor: Google).
AWS MWAA: POST /restapi/{env} and /webtoken/{env} verify SigV4 by recomputing it with botocore;
         POST /aws_mwaa/login exchanges the web token for a session cookie, accepted on /api/v1.
Control: POST /_control {json merged into settings}; GET /_log {requests, token_fetches, sigv4_checked}.
"""
import argparse, base64, email.utils, json, os, socket, struct, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs

LOCK = threading.Lock()
STATE = {"requests": [], "token_fetches": 0, "sigv4_checked": 0, "runs": {}, "settings": {
    "expect_auth": None, "expires_in": 3600, "iss": None, "audience": None,
    "aws_key": "AKIDTEST", "aws_secret": "testsecret", "web_token": None, "session": None}}
ARGS = None


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def fake_jwt(claims):
    enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
    return enc({"alg": "none", "typ": "JWT"}) + "." + enc(claims) + ".sig"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body=b"", ctype="application/json", headers=()):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def do_PATCH(self):
        self.route("PATCH")

    def route(self, method):
        u = urlsplit(self.path)
        raw = self.body()
        with LOCK:
            if not u.path.startswith("/_"):
                STATE["requests"].append({"method": method, "path": u.path, "query": u.query,
                                          "headers": {k.lower(): v for k, v in self.headers.items()},
                                          "body": raw.decode("utf-8", "replace")})
            s = STATE["settings"]
        p = u.path
        if "/api/v" in p and not p.startswith("/api/"):
            p = p[p.index("/api/v"):]  # a deployment prefix (Astronomer: /<release>/airflow/api/v1, /<id>/api/v2)
        if p == "/_control":
            with LOCK:
                settings = json.loads(raw or b"{}")
                seed = settings.pop("seed_run", None)  # a run someone else created: {"dag", "run_id", "conf"}
                if seed:
                    STATE["runs"][(seed["dag"], seed["run_id"])] = seed.get("conf")
                s.update(settings)
                if json.loads(raw or b"{}").get("reset_log"):
                    STATE["requests"].clear(); STATE["token_fetches"] = 0; STATE["sigv4_checked"] = 0
            return self.send(200, {"ok": True})
        if p == "/_log":
            with LOCK:
                return self.send(200, {"requests": STATE["requests"], "token_fetches": STATE["token_fetches"],
                                       "sigv4_checked": STATE["sigv4_checked"]})
        if p == "/token":
            return self.google_token(raw)
        if p.startswith("/computeMetadata/v1/instance/service-accounts/default/"):
            return self.metadata(p.rsplit("/", 1)[1], parse_qs(u.query))
        if p.startswith("/restapi/") or p.startswith("/webtoken/"):
            return self.mwaa(method, p, raw)
        if p == "/aws_mwaa/login":
            form = parse_qs(raw.decode())
            if s["web_token"] and form.get("token", [""])[0] == s["web_token"]:
                with LOCK:
                    s["session"] = "sess-%d" % time.time_ns()
                return self.send(302, b"", "text/html", [("Location", "/home"), ("Set-Cookie", "session=%s; Path=/; HttpOnly" % s["session"])])
            return self.send(403, {"error": "bad token"})
        if p.startswith("/api/v1/") and s.get("session"):
            cookie = self.headers.get("Cookie") or ""
            if "session=%s" % s["session"] not in cookie:
                return self.send(401, {"title": "Unauthorized", "detail": "no session", "status": 401})
            return self.airflow(method, p, raw, check_auth=False)
        if p.startswith("/api/v2/") or p.startswith("/api/v1/"):
            return self.airflow(method, p, raw, check_auth=True)
        self.send(404, b"<html>not here</html>", "text/html")

    def airflow(self, method, p, raw, check_auth):
        s = STATE["settings"]
        if check_auth and s["expect_auth"] and self.headers.get("Authorization") != s["expect_auth"]:
            return self.send(401, {"detail": "Not authenticated"})
        parts = p.split("/")  # ['', 'api', 'v2', 'dags', dag, 'dagRuns', ...]
        if len(parts) < 5 or parts[3] != "dags":
            return self.send(200, {"dags": [], "total_entries": 0})
        dag = parts[4]
        if method == "GET" and len(parts) == 7 and parts[5] == "dagRuns":
            with LOCK:
                if (dag, parts[6]) not in STATE["runs"]:
                    return self.send(404, {"detail": "DAGRun not found", "title": "Not Found", "status": 404})
                return self.send(200, {"dag_id": dag, "dag_run_id": parts[6], "conf": STATE["runs"][(dag, parts[6])], "state": "queued"})
        if method == "GET":
            if dag.startswith("s404") or dag == "missing":
                return self.send(404, {"detail": "Dag not found", "title": "Not Found", "status": 404})
            return self.send(200, {"dag_id": dag, "is_paused": dag == "paused"})
        behave = {
            "s409": (409, {"detail": "DAGRun with DAG ID: 's409' and DAGRun ID: 'x' already exists", "title": "Conflict", "status": 409}),
            "s400": (400, {"detail": "conf must be an object", "title": "Bad Request", "status": 400}),
            "s404": (404, {"detail": "The Dag with ID: `s404` was not found", "title": "Dag not found", "status": 404}),
            "s422": (422, {"detail": [{"loc": ["body", "logical_date"], "msg": "Field required", "type": "missing"}]}),
            "s403": (403, {"detail": "Forbidden", "title": "Forbidden", "status": 403}),
            "s408": (408, {"detail": "request timeout"}),
            "s500": (500, {"detail": "database is locked", "title": "Internal Server Error", "status": 500}),
            "s503": (503, b"Service Unavailable"),
        }
        if dag in behave:
            code, body = behave[dag]
            return self.send(code, body, "application/json" if isinstance(body, dict) else "text/plain")
        if dag == "html404":
            return self.send(404, b"<html><body>Not Found</body></html>", "text/html")
        if dag == "s429s":
            return self.send(429, {"detail": "slow down"}, headers=[("Retry-After", "7")])
        if dag == "s429d":
            when = email.utils.formatdate(time.time() + 120, usegmt=True)
            return self.send(429, {"detail": "slow down"}, headers=[("Retry-After", when)])
        if dag == "slow":
            time.sleep(3)
        if dag == "resetafter":  # the run is created, then the connection drops before the answer
            req = json.loads(raw or b"{}")
            with LOCK:
                if (dag, req.get("dag_run_id")) in STATE["runs"]:
                    return self.send(409, {"detail": "already exists", "title": "Conflict", "status": 409})
                STATE["runs"][(dag, req.get("dag_run_id"))] = req.get("conf")
        if dag in ("reset", "resetafter"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        req = json.loads(raw or b"{}")
        run_id = req.get("dag_run_id")
        with LOCK:
            if (dag, run_id) in STATE["runs"]:
                return self.send(409, {"detail": "already exists", "title": "Conflict", "status": 409})
            STATE["runs"][(dag, run_id)] = req.get("conf")
        self.send(200, {"dag_id": dag, "dag_run_id": run_id, "conf": req.get("conf"), "state": "queued"})

    # --- Google ---------------------------------------------------------------------------------
    def google_token(self, raw):
        s = STATE["settings"]
        form = parse_qs(raw.decode())
        if form.get("grant_type", [""])[0] != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self.send(400, {"error": "unsupported_grant_type"})
        assertion = form.get("assertion", [""])[0]
        try:
            h, c, sig = assertion.split(".")
            header, claims = json.loads(b64url_decode(h)), json.loads(b64url_decode(c))
        except Exception:
            return self.send(400, {"error": "invalid_grant", "error_description": "malformed assertion"})
        with tempfile.TemporaryDirectory() as d:
            open(d + "/in", "wb").write((h + "." + c).encode())
            open(d + "/sig", "wb").write(b64url_decode(sig))
            ok = subprocess.run(["openssl", "dgst", "-sha256", "-verify", ARGS.pubkey, "-signature", d + "/sig", d + "/in"],
                                capture_output=True).returncode == 0
        if not ok or header.get("alg") != "RS256":
            return self.send(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        now = time.time()
        me = "http://127.0.0.1:%d/token" % self.server.server_address[1]
        problems = []
        if claims.get("aud") != me: problems.append("aud")
        if s["iss"] and claims.get("iss") != s["iss"]: problems.append("iss")
        if not (claims.get("iat", 0) <= now + 5 and claims.get("exp", 0) > now and claims["exp"] - claims["iat"] <= 3600): problems.append("iat/exp")
        if s["audience"]:
            if claims.get("target_audience") != s["audience"]: problems.append("target_audience")
        elif claims.get("scope") != "https://www.googleapis.com/auth/cloud-platform": problems.append("scope")
        if problems:
            return self.send(400, {"error": "invalid_grant", "error_description": "bad claims: " + ",".join(problems)})
        with LOCK:
            STATE["token_fetches"] += 1
            n = STATE["token_fetches"]
        if s["audience"]:
            return self.send(200, {"id_token": fake_jwt({"aud": s["audience"], "exp": int(now) + int(s["expires_in"]), "n": n})})
        self.send(200, {"access_token": "goog-%d" % n, "expires_in": int(s["expires_in"]), "token_type": "Bearer"})

    def metadata(self, kind, q):
        s = STATE["settings"]
        if self.headers.get("Metadata-Flavor") != "Google":
            return self.send(403, b"Missing Metadata-Flavor:Google header.", "text/html")
        with LOCK:
            STATE["token_fetches"] += 1
            n = STATE["token_fetches"]
        if kind == "identity":
            return self.send(200, fake_jwt({"aud": q.get("audience", [""])[0], "exp": int(time.time()) + int(s["expires_in"]), "n": n}).encode(), "text/plain")
        if q.get("scopes", [""])[0] != "https://www.googleapis.com/auth/cloud-platform":
            return self.send(400, b"bad scopes", "text/plain")
        self.send(200, {"access_token": "meta-%d" % n, "expires_in": int(s["expires_in"]), "token_type": "Bearer"})

    # --- AWS MWAA -------------------------------------------------------------------------------
    def sigv4_ok(self, method, raw):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        s = STATE["settings"]
        auth = self.headers.get("Authorization") or ""
        try:
            fields = dict(x.strip().split("=", 1) for x in auth[len("AWS4-HMAC-SHA256 "):].split(","))
            key, date, region, service, _ = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
        except Exception:
            return False
        if key != s["aws_key"] or service != "airflow":
            return False
        headers = {h: self.headers.get(h) for h in signed if h != "host"}
        url = "http://%s%s" % (self.headers.get("Host"), self.path)
        req = AWSRequest(method=method, url=url, data=raw, headers=headers)
        req.context["timestamp"] = self.headers.get("X-Amz-Date")
        signer = SigV4Auth(Credentials(s["aws_key"], s["aws_secret"], self.headers.get("X-Amz-Security-Token")), "airflow", region)
        expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        with LOCK:
            STATE["sigv4_checked"] += 1
        return expected == fields["Signature"]

    def mwaa(self, method, p, raw):
        s = STATE["settings"]
        if not self.sigv4_ok(method, raw):
            return self.send(403, {"message": "The request signature we calculated does not match the signature you provided."},
                             headers=[("x-amzn-ErrorType", "InvalidSignatureException")])
        if p.startswith("/webtoken/"):
            with LOCK:
                s["web_token"] = "wt-%d" % time.time_ns()
            return self.send(200, {"WebToken": s["web_token"], "WebServerHostname": "127.0.0.1:%d" % self.server.server_address[1]})
        env = p.split("/")[2]
        if env != "my-env":
            return self.send(404, {"message": "Environment %s not found" % env}, headers=[("x-amzn-ErrorType", "ResourceNotFoundException")])
        call = json.loads(raw)
        path = call.get("Path", "")
        parts = path.split("/")
        if call.get("Method") == "POST" and len(parts) == 4 and parts[1] == "dags" and parts[3] == "dagRuns":
            dag, body = parts[2], call.get("Body") or {}
            if dag != "demo_dag":
                return self.send(400, {"RestApiStatusCode": 404, "RestApiResponse": {"detail": "DAG with dag_id: '%s' not found" % dag, "status": 404, "title": "DAG not found"}},
                                 headers=[("x-amzn-ErrorType", "RestApiClientException")])
            with LOCK:
                dup = (dag, body.get("dag_run_id")) in STATE["runs"]
                if not dup:
                    STATE["runs"][(dag, body.get("dag_run_id"))] = body.get("conf")
            if dup:
                return self.send(400, {"RestApiStatusCode": 409, "RestApiResponse": {"detail": "already exists", "status": 409, "title": "Conflict"}},
                                 headers=[("x-amzn-ErrorType", "RestApiClientException")])
            return self.send(200, {"RestApiStatusCode": 200, "RestApiResponse": {"dag_id": dag, "dag_run_id": body.get("dag_run_id"), "conf": body.get("conf")}})
        if call.get("Method") == "GET" and len(parts) == 5 and parts[1] == "dags" and parts[3] == "dagRuns":
            with LOCK:
                if (parts[2], parts[4]) in STATE["runs"]:
                    return self.send(200, {"RestApiStatusCode": 200, "RestApiResponse": {"dag_run_id": parts[4], "conf": STATE["runs"][(parts[2], parts[4])]}})
            return self.send(400, {"RestApiStatusCode": 404, "RestApiResponse": {"detail": "DAGRun not found", "status": 404, "title": "Not Found"}},
                             headers=[("x-amzn-ErrorType", "RestApiClientException")])
        return self.send(200, {"RestApiStatusCode": 200, "RestApiResponse": {"path": path}})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--pubkey")
    ap.add_argument("--exit-on-stdin-eof", action="store_true")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    open(tmp, "w").write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    if ARGS.exit_on_stdin_eof:
        def watch():
            sys.stdin.read()
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
