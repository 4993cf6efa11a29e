-- The one wrk script of bench/bench.py, set by environment variables:
--
--   WRK_METHOD   GET, PATCH, ... (GET)
--   WRK_PATH     the request path (else the URL's)
--   WRK_BODIES   the body; several bodies, one per line, are sent in turn (each thread
--                cycles through them: '{"action":"start"}\n{"action":"stop"}')
--   WRK_HEADERS  headers, one "Name: value" per line (Content-Type: application/json is added
--                when there is a body and no Content-Type)
--
--   WRK_METHOD=PATCH WRK_BODIES='{"action":"stop"}' WRK_HEADERS='Authorization: Bearer T' \
--     wrk -t2 -c32 -d5s -s bench/wrk.lua http://127.0.0.1:8080/v2/webinars/1/livestream/status
--
-- The requests are built once per thread, so the script costs wrk next to nothing per request
-- (no response() hook: wrk counts the non-2xx/3xx answers itself). done() prints one line,
-- "BENCH_RESULT {json}": wrk's counters and the latency percentiles in microseconds.

local requests = {}
local next_index = 0

local function lines(text)
   local out = {}
   for line in string.gmatch(text or "", "[^\n]+") do
      table.insert(out, line)
   end
   return out
end

function init(args)
   local method = os.getenv("WRK_METHOD") or "GET"
   local path = os.getenv("WRK_PATH")
   if path == "" then path = nil end
   local headers = {}
   for _, line in ipairs(lines(os.getenv("WRK_HEADERS"))) do
      local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
      if name then headers[name] = value end
   end
   local bodies = lines(os.getenv("WRK_BODIES"))
   if #bodies > 0 and headers["Content-Type"] == nil then
      headers["Content-Type"] = "application/json"
   end
   for name, value in pairs(headers) do wrk.headers[name] = value end
   if #bodies == 0 then bodies = { nil } end
   for i = 1, math.max(1, #bodies) do
      requests[i] = wrk.format(method, path, nil, bodies[i])
   end
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function done(summary, latency, requests_)
   local e = summary.errors
   local marks = {}
   for _, p in ipairs({ 50, 90, 99, 99.9 }) do
      table.insert(marks, string.format('"%g":%d', p, latency:percentile(p)))
   end
   io.write(string.format(
      'BENCH_RESULT {"duration_us":%d,"requests":%d,"non_2xx":%d,"socket_errors":%d,'
         .. '"latency_us":{%s}}\n',
      summary.duration, summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
      table.concat(marks, ",")
   ))
end
