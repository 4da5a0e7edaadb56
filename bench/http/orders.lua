-- wrk script: the market's order mix (docs/benchmarks.md "HTTP order entry").
-- 70% new bids priced under every ask (they rest), 10% IOC bids above every ask (they trade),
-- 20% cancels of this thread's live bids (a new resting bid while it has none), over every
-- seeded buyer and instrument. Each acknowledgement is written to $BENCH_ACKS at the end:
--   P <bid id> <status> <filled>   a bid placed (201)
--   C <bid id>                     a bid cancelled (200)
--   E <http status>                anything else
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

function init(args)
  keys, owner_key, instruments = {}, {}, {}
  for line in io.lines(os.getenv("BENCH_SEED")) do
    local kind, a, b = line:match("^(%S+) (%S+) ?(%S*)$")
    if kind == "key" then
      table.insert(keys, b)
      owner_key[a] = b
    elseif kind == "instrument" then
      table.insert(instruments, a)
    elseif kind == "purpose" then
      purpose = a
    end
  end
  math.randomseed(tid * 7919 + os.time())
  live, acks, n_acks = {}, {}, 0
end

local function bid(key, body)
  return wrk.format("POST", "/bids",
    { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end

function request()
  local r = math.random(100)
  if r <= 20 and #live > 0 then
    local i = math.random(#live)
    local order = live[i]
    live[i] = live[#live]
    live[#live] = nil
    return wrk.format("DELETE", "/bids/" .. order[1], { ["Authorization"] = "Bearer " .. order[2] })
  end
  local key = keys[math.random(#keys)]
  local instrument = instruments[math.random(#instruments)]
  if r > 20 and r <= 30 then
    return bid(key, string.format(
      '{"instrument":"%s","max_price_yen":1000000,"purpose":"%s","time_in_force":"IOC"}',
      instrument, purpose))
  end
  return bid(key, string.format('{"instrument":"%s","max_price_yen":%d,"purpose":"%s"}',
    instrument, math.random(1, 500), purpose))
end

function response(status, headers, body)
  local record
  if status == 201 then
    local id = body:match('"id":"(%x+)"')
    local state = body:match('"status":"(%a+)"')
    local filled = body:match('"filled":(%d+)')
    if state == "open" then
      table.insert(live, { id, owner_key[body:match('"buyer_id":"(%x+)"')] })
    end
    record = "P " .. id .. " " .. state .. " " .. filled
  elseif status == 200 then
    record = "C " .. body:match('"id":"(%x+)"')
  else
    record = "E " .. status
  end
  n_acks = n_acks + 1
  acks[n_acks] = record
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("BENCH_ACKS"), "w")
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("acks")) do
      out:write(line, "\n")
    end
  end
  out:close()
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
