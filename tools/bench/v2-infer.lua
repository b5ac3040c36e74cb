-- wrk script: POST one Open Inference Protocol (KServe V2) infer request, the same body each
-- time: ROWS rows of FEATURES random FP32 values (seeded), as JSON `data`.
-- Environment: ROWS (default 1), FEATURES (default 100, the reference net), MODEL (reference).
local rows = tonumber(os.getenv("ROWS") or "1")
local features = tonumber(os.getenv("FEATURES") or "100")
local model = os.getenv("MODEL") or "reference"
math.randomseed(7)
local data = {}
for r = 1, rows do
  local row = {}
  for f = 1, features do row[f] = string.format("%.5f", math.random() * 2 - 1) end
  data[r] = "[" .. table.concat(row, ",") .. "]"
end
wrk.method = "POST"
wrk.path = "/v2/models/" .. model .. "/infer"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"input","datatype":"FP32","shape":[' .. rows .. ',' .. features ..
  '],"data":[' .. table.concat(data, ",") .. ']}]}'

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"p50Ms\": %.4f, \"p99Ms\": %.4f, \"non2xx\": %d, \"errors\": %d}\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
