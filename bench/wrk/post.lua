-- POSTs one GraphQL request, read from the environment, and counts the
-- answers that are not {"data":…} without "errors", so a run that only
-- measured errors cannot pass for a fast one.
--   BENCH_BODY    the JSON request body
--   BENCH_HEADER  optional "Name: value" header (Authorization or admin secret)
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local h = os.getenv("BENCH_HEADER")
if h and h ~= "" then
  local name, value = h:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  sample = ""
end

function response(status, headers, body)
  if status ~= 200 or body:find('"errors"', 1, true) then
    bad = bad + 1
    if sample == "" then sample = body:sub(1, 300) end
  end
end

function done(summary, latency, requests)
  local total, first = 0, ""
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
    local s = t:get("sample")
    if first == "" and s then first = s end
  end
  io.write(string.format("BAD_RESPONSES %d\n", total))
  if first ~= "" then io.write("BAD_SAMPLE " .. first:gsub("\n", " ") .. "\n") end
end
