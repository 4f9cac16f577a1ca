-- wrk script: signed GitHub push deliveries, each with its own X-GitHub-Delivery
-- (so every request is a distinct event and a distinct journaled job).
-- The body is fixed, so one HMAC (computed by the runner) signs all of them.
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  -- WRK_PORTS=p1,p2,...: thread i connects to 127.0.0.1:p[i mod n] instead of the URL's port, so one wrk
  -- spreads its connections evenly over a fleet of replicas and reports one latency distribution
  -- (bench-webhook.sh REPLICAS=n; WRK_THREADS a multiple of n).
  local ports = os.getenv("WRK_PORTS")
  if ports then
    local list = {}
    for p in string.gmatch(ports, "%d+") do table.insert(list, p) end
    thread.addr = wrk.lookup("127.0.0.1", list[(#threads % #list) + 1])[1]
  end
  table.insert(threads, thread)
end

function init(args)
  body = os.getenv("WRK_BODY")
  signature = os.getenv("WRK_SIGNATURE")
  run = os.getenv("WRK_RUN") or "r"
  get_path = os.getenv("WRK_GET")
end

function request()
  -- WRK_GET=/healthz: plain GETs of that path instead (bench-webhook.sh CASE=healthz).
  if get_path then return wrk.format("GET", get_path) end
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "push",
    ["X-GitHub-Delivery"] = run .. "-" .. tid .. "-" .. counter,
    ["X-Hub-Signature-256"] = signature,
  }
  return wrk.format("POST", os.getenv("WRK_PATH") or "/hooks/github", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
