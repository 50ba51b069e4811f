-- wrk script for ops/bench/run.sh: CFSSL's POST /api/v1/cfssl/sign with a P-256 CSR per request, the peer of
-- ops/bench/enroll.lua (CSR in, certificate out).
--   wrk -t<threads> -c<connections> -s ops/bench/cfssl-sign.lua <url> -- <bodies-file> <answers-dir> <samples>
-- Bodies ({"certificate_request": "<PEM CSR>"}, one a line) are sent round-robin. Every answer 200 with
-- "success":true appends one line to <answers-dir>/answers-<thread>, so the caller can count them against CFSSL's
-- certdb rows; the first <samples> certificates of each thread are written to <answers-dir>/sample-<thread>-<n>.pem
-- for openssl verify.
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local bodies_file, answers_dir = args[1], args[2]
  samples = tonumber(args[3])
  directory = answers_dir
  bodies = {}
  for line in io.lines(bodies_file) do bodies[#bodies + 1] = line end
  sent = 0
  sampled = 0
  answers = io.open(answers_dir .. "/answers-" .. thread_index, "w")
end

function request()
  sent = sent + 1
  return wrk.format("POST", "/api/v1/cfssl/sign", { ["Content-Type"] = "application/json" }, bodies[(sent % #bodies) + 1])
end

function response(status, headers, body)
  if status == 200 and body:find('"success":true', 1, true) then
    answers:write("1\n")
    answers:flush()
    if sampled < samples then
      local pem = body:match('"certificate":"(.-)"')
      if pem then
        sampled = sampled + 1
        local file = io.open(directory .. "/sample-" .. thread_index .. "-" .. sampled .. ".pem", "w")
        file:write((pem:gsub("\\n", "\n")))
        file:close()
      end
    end
  end
end
