-- wrk script for ops/bench/run.sh: POST /api/v1/enroll with a fresh one-time token per request.
--   wrk -t<threads> -c<connections> -s ops/bench/enroll.lua <url> -- <tokens-file> <bodies-file> <serials-dir> <threads>
-- Thread i of n takes tokens i, i+n, i+2n, ... of the tokens file, so no token is sent twice; bodies (JSON with a
-- P-256 CSR) are reused round-robin. Every serial answered with 201 is appended to <serials-dir>/serials-<i>, so
-- the caller can check that each one was committed.
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local tokens_file, bodies_file, serials_dir, threads = args[1], args[2], args[3], tonumber(args[4])
  tokens = {}
  local line_number = 0
  for line in io.lines(tokens_file) do
    if line_number % threads == thread_index then tokens[#tokens + 1] = line end
    line_number = line_number + 1
  end
  bodies = {}
  for line in io.lines(bodies_file) do bodies[#bodies + 1] = line end
  sent = 0
  serials = io.open(serials_dir .. "/serials-" .. thread_index, "w")
end

function request()
  sent = sent + 1
  -- Out of tokens: send one that cannot be valid, so the shortfall shows as refusals rather than as reuse.
  local token = tokens[sent] or "exhausted"
  return wrk.format("POST", "/api/v1/enroll",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token },
    bodies[(sent % #bodies) + 1])
end

function response(status, headers, body)
  if status == 201 then
    serials:write(body:match('"serialNumber":"(%x+)"') or "unparsed", "\n")
    serials:flush()
  end
end
