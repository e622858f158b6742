-- wrk script for `npm run bench`: random keys over KEYS, PUT with a VALUE_SIZE-byte value or
-- GET, each wrk thread on its own node from HOSTS ("h:p,h:p,..."). done() prints one
-- machine-readable line starting with RESULT.
local mode = os.getenv("MODE") or "GET"
local nkeys = tonumber(os.getenv("KEYS") or "10000")
local vsize = tonumber(os.getenv("VALUE_SIZE") or "100")
local read = os.getenv("READ") or "quorum"
local hosts = os.getenv("HOSTS")

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  if hosts then
    local list = {}
    for h in string.gmatch(hosts, "[^,]+") do table.insert(list, h) end
    local host, port = list[((thread_count - 1) % #list) + 1]:match("^([^:]+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
end

local body = '{"value":"' .. string.rep("v", vsize) .. '"}'
local put_headers = { ["Content-Type"] = "application/json" }

function request()
  local key = "key" .. math.random(0, nkeys - 1)
  if mode == "PUT" then
    return wrk.format("PUT", "/store/" .. key, put_headers, body)
  end
  return wrk.format("GET", "/store/" .. key .. "?r=" .. read)
end

local non2xx = 0
function response(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status))
end
