#!/bin/sh
# Writes a JSON-lines rule set and event set that another engine can read too, and times dagbridge on them:
#   scripts/bench-rules-file.sh [DIR]        (default DIR: a fresh temporary folder, kept and printed)
# DIR/rules.jsonl: 100 body patterns of every operator family (r0…r99); DIR/events.jsonl: 2,000 GitHub-like
# push and Stripe bodies of about 1 KB, half of them tied to a rule. Runs
#   .build/release/bench-rules file --rules DIR/rules.jsonl --events DIR/events.jsonl
# (BENCH_RULES=path picks another binary; build with `swift build -c release --product bench-rules`).
# Another engine run on the same two files should report the same matches per pass before its speed counts.
set -eu
dir=${1:-$(mktemp -d /tmp/bench-rules-file.XXXXXX)}
mkdir -p "$dir"
bin=${BENCH_RULES:-$(dirname "$0")/../.build/release/bench-rules}
python3 - "$dir" <<'EOF'
import json, random, sys
d = sys.argv[1]
rules = []
for i in range(100):
    f = i % 10
    rules.append([
        {"repository": {"name": [f"repo-{i}"]}},
        {"ref": [{"prefix": f"refs/heads/feature-{i}/"}]},
        {"repository": {"full_name": [{"suffix": f"/repo-{i}"}]}, "size": [{"numeric": [">", 0, "<=", 1000]}]},
        {"type": ["invoice.paid"], "data": {"object": {"amount": [{"numeric": [">=", i * 10, "<", i * 10 + 10]}]}}},
        {"pusher": {"email": [{"wildcard": f"dev{i}@*.com"}]}, "repository": {"name": [f"repo-{i}"]}},
        {"action": [{"anything-but": ["deleted", "closed"]}], "repository": {"name": [{"equals-ignore-case": f"REPO-{i}"}]}},
        {"repository": {"full_name": [{"wildcard": f"org-{i % 7}/*-{i}"}]}},
        {"$or": [{"repository": {"name": [f"repo-{i}"]}}, {"sender": {"login": [f"user-{i}"]}}]},
        {"repository": {"name": [f"repo-{i}"]}, "deleted": [{"exists": False}]},
        {"commits": {"author": {"name": [f"dev-{i}"]}, "message": [{"prefix": f"[T{i}]"}]}},
    ][f])
rng = random.Random(42)
events = []
for _ in range(2000):
    j = rng.randrange(200)
    if rng.randrange(10) == 0:
        events.append({"id": f"evt_{j}", "object": "event", "type": "invoice.paid", "created": 1732190000, "livemode": False,
                       "data": {"object": {"id": f"in_{j}", "object": "invoice", "amount": j * 10 + 5, "currency": "eur",
                                           "customer": f"cus_{j}", "status": "paid",
                                           "lines": {"object": "list", "data": [{"id": "il_1", "amount": j * 10 + 5, "description": f"Plan {j}"}]}}},
                       "request": {"id": f"req_{j}", "idempotency_key": f"b1946ac9-2492-4d6a-9d3c-{j}"}})
        continue
    events.append({"ref": f"refs/heads/feature-{j}/login", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
                   "after": "76ae82c7b1a177c8d03f9e96e0adf2466113728f", "action": "closed" if j % 3 == 0 else "opened", "size": j % 5,
                   "repository": {"id": 100000 + j, "name": f"repo-{j}", "full_name": f"org-{j % 7}/repo-{j}", "private": False,
                                  "owner": {"login": f"org-{j % 7}", "id": j % 7}, "html_url": f"https://github.com/org-{j % 7}/repo-{j}",
                                  "default_branch": "main"},
                   "pusher": {"name": f"dev-{j}", "email": f"dev{j}@example.com"}, "sender": {"login": f"user-{j}", "id": j},
                   "commits": [{"id": "76ae82c7", "message": f"[T{j}] Fix login redirect", "timestamp": "2026-11-21T10:00:00Z",
                                "author": {"name": f"dev-{j}", "email": f"dev{j}@example.com"}},
                               {"id": "1a177c8d", "message": "Add tests", "timestamp": "2026-11-21T10:01:00Z",
                                "author": {"name": "bot", "email": "bot@example.com"}}]})
for name, items in (("rules.jsonl", rules), ("events.jsonl", events)):
    with open(f"{d}/{name}", "w") as f:
        for x in items:
            f.write(json.dumps(x, separators=(",", ":")) + "\n")
EOF
echo "inputs: $dir/rules.jsonl $dir/events.jsonl"
exec "$bin" file --rules "$dir/rules.jsonl" --events "$dir/events.jsonl"
