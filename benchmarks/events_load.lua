-- wrk script for bench_events_api.py: POST to the URL given to wrk (the events API, or
-- the floor view) as a browser (signed visitor id in the body, text/plain like
-- sendBeacon) or as a server (Bearer token, contact by email, unique idempotency keys).
-- Arguments: MODE CREDENTIAL CONSENT (the signed consent cookie a browser sends on a
-- site that requires consent) RUN (keeps idempotency keys unique across runs).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  n = 0
  mode = args[1]
  credential = args[2]
  consent = args[3]
  run = args[4] or "0"
end

function request()
  n = n + 1
  if mode == "server" then
    local body = string.format(
      '{"name":"purchase","email":"buyer%d@example.com","properties":{"sku":"B-%d","total":12.99},"idempotency_key":"bench-%s-%d-%d"}',
      n % 1000, n % 50, run, tid, n)
    return wrk.format("POST", nil,
      { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. credential }, body)
  end
  local body = string.format(
    '{"name":"cart.updated","visitor":"%s","properties":{"items":%d,"path":"/books/dune/"}}',
    credential, n % 7)
  return wrk.format("POST", nil, { ["Content-Type"] = "text/plain", ["Cookie"] = "journeys_consent=" .. consent }, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK {"requests":%d,"status_errors":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"duration_us":%d}\n',
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50),
    latency:percentile(99), summary.duration))
end
