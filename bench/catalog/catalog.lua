-- wrk script for bench/catalog/served.py: the same GET over and over, $BENCH_TARGET (a path with
-- its URL-encoded query string) with $BENCH_KEY as the Bearer API key. Every answer other than
-- 200 is counted; done() prints one line, BENCH {json}: requests, duration, answers other than
-- 200, socket errors (connect, read, write, timeout) and the latency percentiles in microseconds.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_200 = 0
  -- wrk builds its one request from these after init returns.
  wrk.path = os.getenv("BENCH_TARGET")
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do
    refused = refused + thread:get("non_200")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non_200":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, refused,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
