-- wrk script for bench/run_bench.py.
--
--   wrk -t2 -c32 -d10s -H 'Authorization: Bearer ...' -s bench/wrk_bench.lua URL -- METHOD [BODY]
--
-- Sets the request method and, when BODY is given, the JSON body and its Content-Type (the
-- request is built once per thread and replayed, so the script costs nothing per request).
-- At the end it prints one line, "BENCH_RESULT {json}", with the counts wrk keeps and the
-- latency percentiles in microseconds, for run_bench.py to parse.

function init(args)
   wrk.method = args[1] or "GET"
   if args[2] ~= nil and args[2] ~= "" then
      wrk.body = args[2]
      wrk.headers["Content-Type"] = "application/json"
   end
end

local percentiles = { 50, 90, 99, 99.9 }

function done(summary, latency, requests)
   local e = summary.errors
   local parts = {
      string.format('"duration_us":%d', summary.duration),
      string.format('"requests":%d', summary.requests),
      string.format('"bytes":%d', summary.bytes),
      -- wrk's "Non-2xx or 3xx responses": every response with a status above 399.
      string.format('"status_errors":%d', e.status),
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
