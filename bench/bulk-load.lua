-- wrk script for the benchmarks' bulk loads: PUTs keyFIRST .. key(KEYS-1) at w=WRITE, each
-- key once, with a 100-byte value. Thread i of THREADS (one per node in HOSTS) writes keys
-- FIRST+i, FIRST+i+THREADS, ... through its own node.
-- wrk itself only stops at its -d deadline, so a thread that has its answers prints
-- THREAD_DONE and stops; the benchmark interrupts wrk (SIGINT) once every thread has,
-- and done() then prints the RESULT line.
local nkeys = tonumber(os.getenv("KEYS") or "1000")
local first = tonumber(os.getenv("FIRST") or "0")
local nthreads = tonumber(os.getenv("THREADS") or "1")
local write = os.getenv("WRITE") or "one"
local hosts = os.getenv("HOSTS")
local body = '{"value":"' .. string.rep("v", 100) .. '"}'
local headers = { ["Content-Type"] = "application/json" }

local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  if hosts then
    local list = {}
    for h in string.gmatch(hosts, "[^,]+") do table.insert(list, h) end
    local host, port = list[((thread_count - 1) % #list) + 1]:match("^([^:]+):(%d+)$")
    thread.addr = wrk.lookup(host, port)[1]
  end
end

local next_key, share, answered
function init(args)
  next_key = first + tid
  share = math.floor((nkeys - first - tid + nthreads - 1) / nthreads)
  answered = 0
end

-- Once a thread has sent its last key, its connections still ask for requests until the
-- answers are in: they write that last key again, which changes nothing stored.
-- wrk calls request() once before the run to check the script, and throws that request
-- away: the benchmark writes keyFIRST .. key(FIRST+THREADS-1) again itself after the load.
function request()
  local key = next_key
  if next_key + nthreads < nkeys then next_key = next_key + nthreads end
  return wrk.format("PUT", "/store/key" .. key .. "?w=" .. write, headers, body)
end

function response(status)
  answered = answered + 1
  if answered == share then
    io.write("THREAD_DONE\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f p99_ms=%.3f errors=%d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status))
end
