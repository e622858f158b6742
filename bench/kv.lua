-- wrk script for `npm run bench`: random keys over KEYS, PUT with a VALUE_SIZE-byte value,
-- GET, or MIX (a PUT with chance WRITE_SHARE, else a GET), each wrk thread on its own node
-- from HOSTS ("h:p,h:p,..."). API=store (default) speaks ringkv's /store/{key} (GETs with
-- ?r=READ, no query when READ is empty, as the fan-out yardstick takes them); API=etcd sends
-- the same load to etcd's v3 JSON gateway (PUT is kv/put, GET a linearizable kv/range).
-- done() prints machine-readable lines: RESULT (totals), SERIES
-- (responses per wall-clock second, to see dips that an average hides) and STATUSES (how
-- many answers of each non-2xx status).
local mode = os.getenv("MODE") or "GET"
local nkeys = tonumber(os.getenv("KEYS") or "10000")
local vsize = tonumber(os.getenv("VALUE_SIZE") or "100")
local read = os.getenv("READ") or "quorum"
local write_share = tonumber(os.getenv("WRITE_SHARE") or "0")
local hosts = os.getenv("HOSTS")
local api = os.getenv("API") or "store"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  if hosts then
    local list = {}
    for h in string.gmatch(hosts, "[^,]+") do table.insert(list, h) end
    local host, port = list[((#threads - 1) % #list) + 1]:match("^([^:]+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
end

local body = '{"value":"' .. string.rep("v", vsize) .. '"}'
local token = os.getenv("TOKEN")
local put_headers = { ["Content-Type"] = "application/json" }
local get_headers = {}
if token and token ~= "" then
  put_headers["Authorization"] = "Bearer " .. token
  get_headers["Authorization"] = "Bearer " .. token
end

local get_query = read == "" and "" or ("?r=" .. read)

-- etcd's gateway takes keys and values in base64; each key's encoding is kept once made.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function sextet(n) return alphabet:sub(n + 1, n + 1) end
local function base64(text)
  local out = {}
  for i = 1, #text, 3 do
    local a, b, c = text:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = sextet(math.floor(n / 262144) % 64) .. sextet(math.floor(n / 4096) % 64)
      .. (b and sextet(math.floor(n / 64) % 64) or "=") .. (c and sextet(n % 64) or "=")
  end
  return table.concat(out)
end
local encoded_value = base64(string.rep("v", vsize))
local encoded_keys = {}
local function etcd_key(key)
  local encoded = encoded_keys[key]
  if encoded == nil then
    encoded = base64(key)
    encoded_keys[key] = encoded
  end
  return encoded
end

function request()
  local key = "key" .. math.random(0, nkeys - 1)
  local put = mode == "PUT" or (mode == "MIX" and math.random() < write_share)
  if api == "etcd" then
    if put then
      return wrk.format("POST", "/v3/kv/put", put_headers, '{"key":"' .. etcd_key(key) .. '","value":"' .. encoded_value .. '"}')
    end
    return wrk.format("POST", "/v3/kv/range", put_headers, '{"key":"' .. etcd_key(key) .. '"}')
  end
  if put then
    return wrk.format("PUT", "/store/" .. key, put_headers, body)
  end
  return wrk.format("GET", "/store/" .. key .. get_query, get_headers)
end

-- Globals, not locals: done() reads them from each thread with thread:get().
non2xx = 0
statuses = {}
series = {}
function response(status)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
  local second = os.time()
  series[second] = (series[second] or 0) + 1
end

function done(summary, latency, requests)
  local failed, merged, seconds, by_status = 0, {}, {}, {}
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("non2xx")
    for status, count in pairs(thread:get("statuses")) do by_status[status] = (by_status[status] or 0) + count end
    for second, count in pairs(thread:get("series")) do
      if merged[second] == nil then table.insert(seconds, second) end
      merged[second] = (merged[second] or 0) + count
    end
  end
  table.sort(seconds)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d requests=%d seconds=%.3f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, failed,
    summary.requests, summary.duration / 1e6))
  local points = {}
  for _, second in ipairs(seconds) do table.insert(points, second .. ":" .. merged[second]) end
  io.write("SERIES " .. table.concat(points, ",") .. "\n")
  local failures = {}
  for status, count in pairs(by_status) do table.insert(failures, status .. ":" .. count) end
  io.write("STATUSES " .. table.concat(failures, ",") .. "\n")
end
