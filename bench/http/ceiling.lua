-- wrk script for the ceilings (bench/http/ceiling.py): a resting bid's body to $BENCH_PATH
-- (with the API key the sequenced ceiling accepts; the others ignore it).
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

function init(args)
  path = os.getenv("BENCH_PATH")
  math.randomseed(tid * 7919 + os.time())
end

function request()
  return wrk.format("POST", path, { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer dm_bench_ceiling" }, string.format(
    '{"instrument":"mobility.traffic/non_personal","max_price_yen":%d,"purpose":"research.statistics"}',
    math.random(1, 500)))
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
