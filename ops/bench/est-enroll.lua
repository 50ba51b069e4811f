-- wrk script for ops/bench/run.sh: EST simpleenroll (RFC 7030 4.2.1) on the TLS listener, a fresh one-time token per
-- request, sent as EST clients send it: HTTP Basic with the token as password (the user name is ignored).
--   wrk -t<threads> -c<connections> -s ops/bench/est-enroll.lua https://<Pki:MtlsUrl> -- <authorization-file> <csrs-file> <answers-dir> <threads>
-- <authorization-file> holds one "Basic base64(user:token)" header value per line; thread i of n takes lines
-- i, i+n, i+2n, ... so no token is sent twice. <csrs-file> holds one CSR per line as base64 of its DER (the body EST
-- asks for), reused round-robin. Every 200 answer (base64 of a certs-only CMS SignedData) is appended, whitespace
-- removed, to <answers-dir>/answers-<i>, so the caller can read the serial out of each and check it was committed.
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local authorization_file, csrs_file, answers_dir, threads = args[1], args[2], args[3], tonumber(args[4])
  authorizations = {}
  local line_number = 0
  for line in io.lines(authorization_file) do
    if line_number % threads == thread_index then authorizations[#authorizations + 1] = line end
    line_number = line_number + 1
  end
  csrs = {}
  for line in io.lines(csrs_file) do csrs[#csrs + 1] = line end
  sent = 0
  answers = io.open(answers_dir .. "/answers-" .. thread_index, "w")
end

function request()
  sent = sent + 1
  -- Out of tokens: "exhausted:exhausted", which cannot be valid, so the shortfall shows as refusals rather than as reuse.
  local authorization = authorizations[sent] or "Basic ZXhoYXVzdGVkOmV4aGF1c3RlZA=="
  return wrk.format("POST", "/.well-known/est/simpleenroll",
    { ["Content-Type"] = "application/pkcs10", ["Authorization"] = authorization },
    csrs[(sent % #csrs) + 1])
end

function response(status, headers, body)
  if status == 200 then
    answers:write((body:gsub("%s", "")), "\n")
    answers:flush()
  end
end
