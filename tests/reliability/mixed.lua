-- mixed.lua -- the wrk request mix of tests/reliability/load.sh: reads of every list and item
-- endpoint and predict calls, in a fixed rotation per connection; counts responses by status
-- class per thread and prints the totals. Ids come from the environment (DATASET, JOB, MODEL).
local ds, job, model = os.getenv("DATASET"), os.getenv("JOB"), os.getenv("MODEL")
local predict_body = '{"inputs":[[0.1,-0.2,0.3,0.4],[0.5,0.6,-0.7,0.8],[-0.9,0.1,0.2,0.3],[0,0,0,0]]}'
local mix = {
  {"GET", "/v1/datasets?limit=10"},
  {"GET", "/v1/datasets/" .. ds},
  {"GET", "/v1/jobs"},
  {"GET", "/v1/jobs/" .. job},
  {"GET", "/v1/jobs/" .. job .. "/metrics?limit=100"},
  {"GET", "/v1/models/" .. model},
  {"POST", "/v1/models/" .. model .. "/predict", predict_body},
  {"POST", "/v1/models/" .. model .. "/predict", predict_body},
  {"GET", "/readyz"},
  {"GET", "/v1/version"},
}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  n, c2, c4, c5, other = 0, 0, 0, 0, 0
end
function request()
  n = n + 1
  local r = mix[(n % #mix) + 1]
  if r[1] == "POST" then
    return wrk.format("POST", r[2], {["Content-Type"] = "application/json"}, r[3])
  end
  return wrk.format("GET", r[2])
end
function response(status, headers, body)
  if status >= 200 and status < 300 then c2 = c2 + 1
  elseif status >= 400 and status < 500 then c4 = c4 + 1
  elseif status >= 500 then c5 = c5 + 1
  else other = other + 1 end
end
function done(summary, latency, requests)
  local t2, t4, t5, to = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    t2 = t2 + t:get("c2"); t4 = t4 + t:get("c4"); t5 = t5 + t:get("c5"); to = to + t:get("other")
  end
  io.write(string.format("statuses: 2xx=%d 4xx=%d 5xx=%d other=%d\n", t2, t4, t5, to))
  io.write(string.format("latency_us: p50=%d p99=%d max=%d\n", latency:percentile(50), latency:percentile(99), latency.max))
  io.write(string.format("errors: connect=%d read=%d write=%d status=%d timeout=%d\n", summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
