-- The soak's load (internal/security TestSoak): POSTs one GraphQL query as
-- many users, each request with a user's token and an X-Request-Id naming
-- the user, which the server echoes; each answer is checked against the
-- user the echoed id names:
--   good     {"data":…} whose every owner_id and account id is the user's,
--            with SOAK_NOTES notes at the top level and nested, one account
--   foreign  a row (owner_id or account id) of another user
--   wrong    the user's rows, but not as many as there are
--   clean    {"errors":[{"message":…,"extensions":{"code":…}}]} without data
--   broken   anything else (not JSON, no request id, an error with data)
-- Environment:
--   SOAK_BODY    the JSON request body
--   SOAK_TOKENS  a file of "user-id token" lines
--   SOAK_NOTES   the notes each user owns
wrk.method = "POST"
wrk.body = os.getenv("SOAK_BODY")
wrk.headers["Content-Type"] = "application/json"
local notes = tonumber(os.getenv("SOAK_NOTES"))

local users = {}
for line in io.lines(os.getenv("SOAK_TOKENS")) do
  local id, tok = line:match("^(%d+) (%S+)$")
  if id then table.insert(users, {id = id, auth = "Bearer " .. tok}) end
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7)
  table.insert(threads, thread)
end

function init(args)
  good, foreign, wrong, clean, broken = 0, 0, 0, 0, 0
  sample = ""
  n = offset or 0
  codes = {}
end

function request()
  n = n + 1
  local u = users[(n * 7919) % #users + 1]
  wrk.headers["Authorization"] = u.auth
  wrk.headers["X-Request-Id"] = "soak-" .. u.id .. "-" .. n
  return wrk.format()
end

local function note(kind, body)
  if sample == "" then sample = kind .. ": " .. body:sub(1, 300) end
end

function response(status, headers, body)
  local rid = headers["X-Request-Id"] or headers["x-request-id"] or ""
  local id = rid:match("^soak%-(%d+)%-")
  if not id then
    broken = broken + 1
    note("no request id (status " .. status .. ")", body)
    return
  end
  if body:sub(1, 8) == '{"data":' and not body:find('"errors"', 1, true) then
    local owners, bad = 0, 0
    for o in body:gmatch('"owner_id":(%d+)') do
      owners = owners + 1
      if o ~= id then bad = bad + 1 end
    end
    local accounts = 0
    for a in body:gmatch('"id":(%d+)') do
      accounts = accounts + 1
      if a ~= id then bad = bad + 1 end
    end
    if bad > 0 then
      foreign = foreign + bad
      note("user " .. id .. " saw foreign rows", body)
    elseif owners ~= 2 * notes or accounts ~= 1 then
      wrong = wrong + 1
      note("user " .. id .. ": wrong rows", body)
    else
      good = good + 1
    end
    return
  end
  local code = body:match('"extensions":{[^}]*"code":"([%w%-]+)"')
  if body:sub(1, 12) == '{"errors":[{' and body:find('"message":"', 1, true) and code and not body:find('"data"', 1, true) then
    clean = clean + 1
    codes[code] = (codes[code] or 0) + 1
    return
  end
  broken = broken + 1
  note("not a clean Hasura error (status " .. status .. ")", body)
end

function done(summary, latency, requests)
  local t = {good = 0, foreign = 0, wrong = 0, clean = 0, broken = 0}
  local first = ""
  local allCodes = {}
  for _, th in ipairs(threads) do
    for k in pairs(t) do t[k] = t[k] + th:get(k) end
    local s = th:get("sample")
    if first == "" and s then first = s end
    for c, k in pairs(th:get("codes")) do allCodes[c] = (allCodes[c] or 0) + k end
  end
  io.write(string.format("SOAK good=%d foreign=%d wrong=%d clean=%d broken=%d\n", t.good, t.foreign, t.wrong, t.clean, t.broken))
  for c, k in pairs(allCodes) do io.write(string.format("SOAK_CODE %s %d\n", c, k)) end
  if first ~= "" then io.write("SOAK_SAMPLE " .. first:gsub("\n", " ") .. "\n") end
end
