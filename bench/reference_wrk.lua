-- wrk script for bench/reference_bench.py.
--
--   wrk -t2 -c32 -d10s -H 'Authorization: Bearer ...' -s bench/reference_wrk.lua URL -- MODE ARGS
--
-- MODE and its arguments:
--   fixed METHOD [CONTENT_TYPE BODY]   the same request every time
--   vary ACTION ACTIVE_SPEAKER NAME    JSON {"action":..,"settings":{..}} whose display_name
--                                      changes on every request: NAME-<thread>-<counter>
--   multipart ACTION SETTINGS_JSON     multipart/form-data, fields action and settings, built
--                                      here with a fixed boundary
--   startstop                          PATCH {"action":"start"}, then {"action":"stop"}, ...
--                                      (one alternation per wrk thread)
--
-- Every mode goes through request() (so the client's cost per request is the same for every
-- target), and response() tallies the status codes. At the end done() prints one line,
-- "BENCH_RESULT {json}", with wrk's counters, the statuses seen, and the latency percentiles in
-- microseconds.

local BOUNDARY = "zoomlivebenchboundary7MA4YWxkTrZu0gW"

-- Main state: the threads, for done() to collect their status tallies.
local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

-- Thread states -------------------------------------------------------------------------------

counts = {}
local mode
local fixed_request
local counter = 0
local vary_action, vary_speaker, vary_name
local start_request, stop_request

local function multipart_body(action, settings)
   local parts = {
      "--" .. BOUNDARY,
      'Content-Disposition: form-data; name="action"',
      "",
      action,
      "--" .. BOUNDARY,
      'Content-Disposition: form-data; name="settings"',
      "",
      settings,
      "--" .. BOUNDARY .. "--",
      "",
   }
   return table.concat(parts, "\r\n")
end

function init(args)
   mode = args[1] or "fixed"
   if mode == "fixed" then
      local method = args[2] or "GET"
      if args[4] ~= nil and args[4] ~= "" then
         wrk.headers["Content-Type"] = args[3]
         fixed_request = wrk.format(method, nil, nil, args[4])
      else
         fixed_request = wrk.format(method)
      end
   elseif mode == "vary" then
      wrk.method = "PATCH"
      wrk.headers["Content-Type"] = "application/json"
      vary_action, vary_speaker, vary_name = args[2], args[3], args[4]
   elseif mode == "multipart" then
      wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. BOUNDARY
      fixed_request = wrk.format("PATCH", nil, nil, multipart_body(args[2], args[3]))
   elseif mode == "startstop" then
      wrk.headers["Content-Type"] = "application/json"
      start_request = wrk.format("PATCH", nil, nil, '{"action":"start"}')
      stop_request = wrk.format("PATCH", nil, nil, '{"action":"stop"}')
   else
      error("unknown mode " .. tostring(mode))
   end
end

function request()
   if mode == "vary" then
      counter = counter + 1
      local body = string.format(
         '{"action":"%s","settings":{"active_speaker_name":%s,"display_name":"%s-%d-%d"}}',
         vary_action, vary_speaker, vary_name, thread_id or 0, counter
      )
      return wrk.format(nil, nil, nil, body)
   elseif mode == "startstop" then
      counter = counter + 1
      if counter % 2 == 1 then
         return start_request
      end
      return stop_request
   end
   return fixed_request
end

function response(status, headers, body)
   counts[status] = (counts[status] or 0) + 1
end

-- Main state again ----------------------------------------------------------------------------

local percentiles = { 50, 90, 99, 99.9 }

function done(summary, latency, requests)
   local statuses = {}
   for _, thread in ipairs(threads) do
      local tally = thread:get("counts") or {}
      for status, n in pairs(tally) do
         statuses[status] = (statuses[status] or 0) + n
      end
   end
   local status_parts = {}
   for status, n in pairs(statuses) do
      table.insert(status_parts, string.format('"%d":%d', status, n))
   end
   local e = summary.errors
   local parts = {
      string.format('"duration_us":%d', summary.duration),
      string.format('"requests":%d', summary.requests),
      string.format('"bytes":%d', summary.bytes),
      string.format('"statuses":{%s}', table.concat(status_parts, ",")),
      string.format('"connect_errors":%d', e.connect),
      string.format('"read_errors":%d', e.read),
      string.format('"write_errors":%d', e.write),
      string.format('"timeouts":%d', e.timeout),
      string.format('"latency_min_us":%d', latency.min),
      string.format('"latency_max_us":%d', latency.max),
      string.format('"latency_mean_us":%.1f', latency.mean),
      string.format('"latency_stdev_us":%.1f', latency.stdev),
   }
   local marks = {}
   for _, p in ipairs(percentiles) do
      table.insert(marks, string.format('"%g":%d', p, latency:percentile(p)))
   end
   table.insert(parts, '"latency_percentiles_us":{' .. table.concat(marks, ",") .. "}")
   io.write("BENCH_RESULT {" .. table.concat(parts, ",") .. "}\n")
end
