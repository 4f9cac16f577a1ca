"""The hand-written glue dagbridge replaces, as the Cloud Functions examples write it:
verify the GitHub signature, build the conf, POST the DAG run with requests, answer.
Run under gunicorn (as Cloud Functions' functions-framework does):
    gunicorn -w 2 --threads 8 -b 127.0.0.1:PORT flask_webhook:app
Env: WEBHOOK_SECRET, TARGET_URL (the Airflow dagRuns endpoint of the stub target).
"""
import hashlib
import hmac
import os

import requests
from flask import Flask, abort, jsonify, request

app = Flask(__name__)
SECRET = os.environ["WEBHOOK_SECRET"].encode()
TARGET = os.environ["TARGET_URL"]
session = requests.Session()


@app.post("/hooks/github")
def github():
    body = request.get_data()
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        abort(401)
    event = request.get_json()
    if request.headers.get("X-GitHub-Event") != "push" or event.get("ref") != "refs/heads/main":
        return jsonify(accepted=0)
    run_id = "github-push-main__" + request.headers["X-GitHub-Delivery"]
    conf = {
        "repository": event["repository"]["full_name"],
        "commit": event["after"],
        "branch": event["ref"].replace("refs/heads/", ""),
        "commits": event.get("commits", []),
        "sender": event.get("sender", {}).get("login", "unknown"),
    }
    r = session.post(TARGET, json={"dag_run_id": run_id, "logical_date": None, "conf": conf}, timeout=30)
    if r.status_code >= 300 and r.status_code != 409:
        return jsonify(error=f"airflow answered {r.status_code}"), 502
    return jsonify(accepted=1, dag_run_ids=[run_id]), 202


@app.get("/healthz")
def healthz():
    return jsonify(status="alive")
