-- Rotates through pre-generated requests (varied idclient and X-Forwarded-For) and
-- prints the run's figures as one JSON line. The request file holds one request per
-- line: path \t x-forwarded-for \t body.
local reqs = {}
local n = 0

local function load(file)
  for line in io.lines(file) do
    local path, xff, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    n = n + 1
    reqs[n] = wrk.format("POST", path, {
      ["Content-Type"] = "text/plain;charset=UTF-8",
      ["Origin"] = "https://www.example.com",
      ["X-Forwarded-For"] = xff,
      -- a person's browser: without one the hit is a robot's, set apart (src/pipeline/audience.ts)
      ["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    }, body)
  end
end

local i = 0
function init(args)
  load(args[1])
  i = math.random(n) - 1
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"connect_err":%d,"read_err":%d,"write_err":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
