-- wrk script: the same order mix as orders.lua through POST /orders/batch, $BENCH_BATCH orders a
-- request from one buyer: 70% bids that rest, 10% IOC bids that trade, 20% cancels of that
-- buyer's live bids. Each result is written to $BENCH_ACKS at the end, as orders.lua does
-- (P <bid id> <status> <trades>, C <bid id>, E <status>).
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

function init(args)
  keys, instruments = {}, {}
  for line in io.lines(os.getenv("BENCH_SEED")) do
    local kind, a, b = line:match("^(%S+) (%S+) ?(%S*)$")
    if kind == "key" then
      table.insert(keys, b)
    elseif kind == "instrument" then
      table.insert(instruments, a)
    elseif kind == "purpose" then
      purpose = a
    end
  end
  size = tonumber(os.getenv("BENCH_BATCH") or "100")
  run = os.getenv("BENCH_RUN") or "run"
  math.randomseed(tid * 7919 + os.time())
  live, owner, acks, n_acks, sequence = {}, {}, {}, 0, 0
end

function request()
  local key = keys[math.random(#keys)]
  local mine = live[key] or {}
  live[key] = mine
  local orders = {}
  for i = 1, size do
    sequence = sequence + 1
    local id = string.format("%s-%d-%d", run, tid, sequence)
    owner[id] = key
    local r = math.random(100)
    local instrument = instruments[math.random(#instruments)]
    if r <= 20 and #mine > 0 then
      local order_id = table.remove(mine, math.random(#mine))
      orders[i] = string.format(
        '{"action":"cancel","client_order_id":"%s","side":"bid","order_id":"%s"}', id, order_id)
    elseif r > 20 and r <= 30 then
      orders[i] = string.format('{"action":"bid","client_order_id":"%s","instrument":"%s",' ..
        '"max_price_yen":1000000,"purpose":"%s","time_in_force":"IOC"}', id, instrument, purpose)
    else
      orders[i] = string.format('{"action":"bid","client_order_id":"%s","instrument":"%s",' ..
        '"max_price_yen":%d,"purpose":"%s"}', id, instrument, math.random(1, 500), purpose)
    end
  end
  return wrk.format("POST", "/orders/batch",
    { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" },
    '{"orders":[' .. table.concat(orders, ",") .. ']}')
end

local function ack(record)
  n_acks = n_acks + 1
  acks[n_acks] = record
end

function response(status, headers, body)
  if status ~= 200 then
    ack("E " .. status)
    return
  end
  for result in body:gmatch('{"client_order_id":(.-)"replayed":%a+}') do
    local key = owner[result:match('^"([^"]+)"')]
    owner[result:match('^"([^"]+)"')] = nil
    local state = result:match('"status":"(%a+)"')
    local order_id = result:match('"order_id":"(%x+)"')
    local _, trades = result:gsub('"bid_id"', "")
    if state == "accepted" then
      table.insert(live[key], order_id)
      ack("P " .. order_id .. " open 0")
    elseif state == "traded" then
      ack("P " .. order_id .. " filled " .. trades)
    elseif state == "cancelled" then
      ack("C " .. order_id)
    else
      ack("E " .. state)
    end
  end
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
