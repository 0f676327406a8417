-- wrk script for every benchmark load (driven by bench/wrk.py).
--
-- Arguments after `--`: MODE AUTH NTHREADS PATH_A FILE_A [PATH_B FILE_B]
--   MODE  issue  POST PATH_A grant_type=client_credentials (the same body every time)
--         token  POST PATH_A token=<next token of FILE_A>
--         mixed  alternate token=<FILE_A> to PATH_A and token=<FILE_B> to PATH_B
--   AUTH  the Authorization header value, or "-" for none
--
-- Each thread takes its own share of a token file (line i goes to thread i mod NTHREADS),
-- so no two requests of a run carry the same token until a thread has used up its share;
-- after that it starts over and counts the requests that reused a token (`reused_a`).
-- Only PATH_A's tokens must not repeat (revocations); PATH_B's (introspections) may.
-- done() prints one line `BENCH_RESULT {json}` for the harness.

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function load_tokens(path, me, nthreads)
  local list = {}
  if path == nil or path == "-" then
    return list
  end
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      if i % nthreads == me then
        list[#list + 1] = line
      end
      i = i + 1
    end
  end
  return list
end

function init(args)
  mode = args[1]
  local auth = args[2]
  local nthreads = tonumber(args[3])
  path_a = args[4]
  tokens_a = load_tokens(args[5], tid, nthreads)
  path_b = args[6]
  tokens_b = load_tokens(args[7], tid, nthreads)
  headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  if auth ~= "-" then
    headers["Authorization"] = auth
  end
  index_a, index_b, wrapped_a, flip = 0, 0, false, false
  reused_a = 0
  fixed = nil
  -- wrk calls request() once on the first thread to check the script (that request is
  -- never sent): answer that call without using up a token.
  verifying = (tid == 0)
  if mode == "issue" then
    fixed = wrk.format("POST", path_a, headers, "grant_type=client_credentials")
  elseif #tokens_a == 0 then
    error("thread " .. tid .. " has no tokens from " .. tostring(args[5]))
  elseif mode == "mixed" and #tokens_b == 0 then
    error("thread " .. tid .. " has no tokens from " .. tostring(args[7]))
  end
end

local function next_a()
  index_a = index_a + 1
  if index_a > #tokens_a then
    index_a = 1
    wrapped_a = true
  end
  if wrapped_a then
    reused_a = reused_a + 1
  end
  return wrk.format("POST", path_a, headers, "token=" .. tokens_a[index_a])
end

local function next_b()
  index_b = index_b + 1
  if index_b > #tokens_b then
    index_b = 1
  end
  return wrk.format("POST", path_b, headers, "token=" .. tokens_b[index_b])
end

function request()
  if fixed then
    return fixed
  end
  if verifying then
    verifying = false
    return wrk.format("POST", path_a, headers, "token=" .. tokens_a[1])
  end
  if mode == "mixed" then
    flip = not flip
    if flip then
      return next_b()
    end
  end
  return next_a()
end

function done(summary, latency, requests)
  local reused = 0
  for _, thread in ipairs(threads) do
    reused = reused + (tonumber(thread:get("reused_a")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"reused_a":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, reused))
end
