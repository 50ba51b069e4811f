#!/usr/bin/env bash
# PkiService load test. Starts the service in Release on loopback, seeds it, drives it with wrk and ab, measures
# in the same run the ceilings it is compared with (a static-bytes endpoint in the same process, OpenSSL's OCSP
# responder, raw .NET P-256 signing, in-process issuance), and prints one table: target, figure, PASS/FAIL.
# It stops everything it started.
#
# The rows of issue 11 (PostgreSQL) run against nodes on a throwaway PostgreSQL cluster the script starts itself
# (Debian's postgresql: initdb into a temporary directory, a free loopback port, stopped and deleted at the end);
# without PostgreSQL those rows are skipped (under CI=true the run fails). The rows of issue 14 (CA keys in a PKCS#11
# module) use throwaway SoftHSM2 tokens likewise, skipped without softhsm2-util (under CI=true the run fails). The rows
# of issue 16 measure a peer CA, CFSSL (Debian's golang-cfssl), in the same run when cfssl is on PATH: a throwaway CA
# and its servers started and stopped by the script; without cfssl those rows are skipped (under CI=true the run fails).
#
#   ops/bench/run.sh          full run (about 9 minutes; needs wrk, ab, openssl, curl, jq, python3, postgresql, softhsm2, cfssl)
#   ops/bench/run.sh smoke    a few seconds per step, no targets judged (CI runs this)
set -euo pipefail
mode="${1:-full}"
cd "$(dirname "$0")/../.."
root="$PWD"

if [ "$mode" = smoke ]; then
  wrk_time=2s; enroll_seconds=3; enroll_warm_seconds=1; enroll_clients=8; ab_requests=500; speed_seconds=1; cluster_revocations=20
else
  wrk_time=10s; enroll_seconds=30; enroll_warm_seconds=15; enroll_clients=32; ab_requests=5000; speed_seconds=3; cluster_revocations=200
fi

for tool in wrk ab openssl curl jq python3 dotnet; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool (apt-get install wrk apache2-utils openssl curl jq python3)"; exit 2; }
done

work="$(mktemp -d /tmp/pki-bench.XXXXXX)"
pids=()
pg_root=""; pg_bin=""; as_postgres=()
cleanup() {
  # SIGKILL, children first: OpenSSL's responder with -multi does not stop its workers on SIGTERM.
  for pid in "${pids[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "$pg_root" ]; then
    "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_root"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

echo "== building (Release)"
dotnet build -c Release -v q -nologo tests/PkiService.Benchmarks >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }  # builds the service too
dotnet build -c Release -v q -nologo src/PkiService.SampleApi >>"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
sample_dll="$root/src/PkiService.SampleApi/bin/Release/net10.0/PkiService.SampleApi.dll"
api_dll="$root/src/PkiService.Api/bin/Release/net10.0/PkiService.Api.dll"
bench_dll="$root/tests/PkiService.Benchmarks/bin/Release/net10.0/PkiService.Benchmarks.dll"

port=$(free_port); base="http://127.0.0.1:$port"; key="pki_ak_bench_$(openssl rand -hex 16)"
# The TLS listener (Pki:MtlsUrl) serves EST (issue 13), measured next to REST enrollment below.
mtls_base="https://127.0.0.1:$(free_port)"
echo "== starting PkiService on $base (TLS listener $mtls_base)"
dotnet "$api_dll" --urls "$base" --Pki:DataDirectory="$work/data" --Pki:PublicBaseUrl="$base" --Pki:KeyPassphrase=bench \
  --Admin:BootstrapApiKey="$key" --Pki:MtlsUrl="$mtls_base" --Benchmark:StaticEndpoint=true \
  --RateLimits:PublicPerSecond=100000000 --RateLimits:EnrollmentPerMinute=100000000 \
  --Logging:LogLevel:Default=Warning >"$work/service.log" 2>&1 &
service_pid=$!; pids+=("$service_pid"); disown "$service_pid"  # disowned: no "Killed" job notice at cleanup
for _ in $(seq 1 120); do curl -fs "$base/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fs "$base/health/ready" >/dev/null || { cat "$work/service.log"; exit 1; }
sleep 2
idle_rss_mb=$(awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$service_pid/status")

echo "== enrolling the certificate the OCSP load asks about"
token=$(curl -fs -X POST "$base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"commonName":"bench-ocsp"}' | jq -r .token)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/client.key" -subj /CN=bench-ocsp -out "$work/client.csr" 2>/dev/null
jq -n --rawfile csr "$work/client.csr" '{csr: $csr}' | curl -fs -X POST "$base/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- >"$work/enrolled.json"
jq -r .certificate "$work/enrolled.json" >"$work/client.pem"
serial=$(jq -r .serialNumber "$work/enrolled.json")
curl -fs "$base/pki/ca.pem" >"$work/ca.pem"; curl -fs "$base/pki/chain.pem" >"$work/chain.pem"
openssl ocsp -issuer "$work/ca.pem" -cert "$work/client.pem" -no_nonce -reqout "$work/req.der" >/dev/null 2>&1
openssl ocsp -issuer "$work/ca.pem" -cert "$work/client.pem" -reqout "$work/req_nonce.der" >/dev/null 2>&1
get_path="/ocsp/$(base64 -w0 "$work/req.der" | jq -sRr @uri)"

cat >"$work/post.lua" <<LUA
local f = io.open("$work/req.der", "rb"); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"
LUA
cat >"$work/nonce.lua" <<LUA
-- openssl puts the 16-byte nonce last in the request: replace it per request, so every answer is signed afresh.
local f = io.open("$work/req_nonce.der", "rb"); local body = f:read("*all"); f:close()
local prefix = body:sub(1, #body - 16)
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"
math.randomseed(os.time())
request = function()
  local t = {}
  for i = 1, 16 do t[i] = string.char(math.random(0, 255)) end
  return wrk.format(nil, "/ocsp", nil, prefix .. table.concat(t))
end
LUA

# wrk: prints "rps p99ms"
run_wrk() { # script path
  local script="$1" path="$2" out
  out=$(wrk -t2 -c32 -d"$wrk_time" --latency ${script:+-s "$script"} "$base$path" 2>&1)
  echo "$out" >>"$work/wrk.log"
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
  p99=$(echo "$out" | awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.2f", v}')
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  [ -z "$non2xx" ] || echo "   warning: $non2xx non-2xx answers on $path" >&2
  echo "$rps ${p99:-0}"
}

# Issue 16: CFSSL (Debian's golang-cfssl, 1.2.0) in the same run, as a peer CA. Nothing is installed: without cfssl on
# PATH its rows print "skipped: no cfssl" (under CI=true the run fails). A throwaway CA with ECDSA P-256 keys, as ours;
# three servers on loopback: `cfssl serve` with a SQLite certdb (durable: SQLite's default synchronous=FULL, one row per
# certificate), `cfssl serve` without a database, and `cfssl ocspserve` answering from a response signed ahead with
# `cfssl ocspsign` (1.2.0's ocspserve reads only a file of base64 responses).
cfssl_ok=""; cfssl_checked=0
if ! command -v cfssl >/dev/null || ! command -v cfssljson >/dev/null; then
  echo "== CFSSL rows skipped: no cfssl on PATH (apt-get install golang-cfssl)"
  [ "${CI:-}" != true ] || { echo "CI=true and cfssl is missing"; exit 1; }
else
  cf="$work/cfssl"; mkdir -p "$cf"
  echo "== CFSSL $(cfssl version 2>/dev/null | awk '/Version/ {print $2}'): throwaway P-256 CA in $cf, serve (SQLite certdb), serve (no database), ocspserve"
  printf '{"CN":"cfssl-bench-ca","key":{"algo":"ecdsa","size":256}}\n' >"$cf/ca-csr.json"
  (cd "$cf" && cfssl gencert -initca -loglevel 5 ca-csr.json | cfssljson -bare ca)
  # The profile ours applies to a client certificate: a week, digital signature, client authentication.
  printf '{"signing":{"default":{"expiry":"168h","usages":["digital signature","client auth"]}}}\n' >"$cf/config.json"
  # certdb's SQLite schema as CFSSL 1.2.0 reads and writes it (certdb/sqlite/migrations: certificates, ocsp_responses),
  # made with python3's sqlite3 module (the sqlite3 CLI may be missing).
  python3 - "$cf/certs.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE certificates (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, ca_label blob,
  status blob NOT NULL, reason int, expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL, body blob NOT NULL,
  expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier),
  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES certificates(serial_number, authority_key_identifier));
""")
db.commit()
PY
  printf '{"driver":"sqlite3","data_source":"%s"}\n' "$cf/certs.db" >"$cf/db.json"
  start_cfssl() { # log-name args... -> sets cfssl_url (http://127.0.0.1:port)
    local name="$1" port; shift; port=$(free_port)
    cfssl_url="http://127.0.0.1:$port"
    cfssl "$@" -address 127.0.0.1 -port "$port" -loglevel 2 >"$cf/$name.log" 2>&1 &
    local pid=$!; pids+=("$pid"); disown "$pid"
    for _ in $(seq 1 50); do curl -s -o /dev/null "$cfssl_url/" && break; sleep 0.1; done
  }
  start_cfssl serve-db serve -ca "$cf/ca.pem" -ca-key "$cf/ca-key.pem" -config "$cf/config.json" -db-config "$cf/db.json"; cfssl_db_url=$cfssl_url
  start_cfssl serve-nodb serve -ca "$cf/ca.pem" -ca-key "$cf/ca-key.pem" -config "$cf/config.json"; cfssl_nodb_url=$cfssl_url
  # The certificate ocspserve answers about, and its response signed ahead (the CA signs it, as ours signs with its
  # delegated responder: one ECDSA P-256 signature either way).
  printf '{"CN":"bench-ocsp","key":{"algo":"ecdsa","size":256}}\n' >"$cf/client-csr.json"
  (cd "$cf" && cfssl gencert -ca ca.pem -ca-key ca-key.pem -config config.json -loglevel 5 client-csr.json | cfssljson -bare client)
  cfssl ocspsign -ca "$cf/ca.pem" -responder "$cf/ca.pem" -responder-key "$cf/ca-key.pem" -cert "$cf/client.pem" -loglevel 5 | jq -r .ocspResponse >"$cf/responses.b64"
  start_cfssl ocspserve ocspserve -responses "$cf/responses.b64"; cfssl_ocsp_url=$cfssl_url
  openssl ocsp -issuer "$cf/ca.pem" -cert "$cf/client.pem" -no_nonce -reqout "$cf/req.der" >/dev/null 2>&1
  printf 'local f = io.open("%s", "rb"); wrk.body = f:read("*all"); f:close()\nwrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"\n' "$cf/req.der" >"$cf/post.lua"
  # One answer of each server checked before any load: ocspserve's verifies against the CFSSL CA and says good; a
  # sign on each serve is a certificate of that CA.
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$cf/probe.key" -subj /CN=bench-load -out "$cf/probe.csr" 2>/dev/null
  jq -n --rawfile csr "$cf/probe.csr" '{certificate_request: $csr}' >"$cf/probe.json"
  probe_ok=1
  for url in "$cfssl_db_url" "$cfssl_nodb_url"; do
    curl -fs -X POST -H 'Content-Type: application/json' -d @"$cf/probe.json" "$url/api/v1/cfssl/sign" | jq -r .result.certificate >"$cf/probe.pem" 2>/dev/null || true
    openssl verify -CAfile "$cf/ca.pem" "$cf/probe.pem" >/dev/null 2>&1 || { probe_ok=0; echo "   warning: cfssl serve at $url did not sign a CSR"; cat "$cf/serve-db.log" "$cf/serve-nodb.log" | tail -n 5; }
  done
  openssl ocsp -issuer "$cf/ca.pem" -cert "$cf/client.pem" -no_nonce -url "$cfssl_ocsp_url/" -CAfile "$cf/ca.pem" 2>&1 | grep -q "client.pem: good" \
    || { probe_ok=0; echo "   warning: cfssl ocspserve did not answer good with a response that verifies"; }
  if [ "$probe_ok" = 1 ]; then cfssl_ok=1; else [ "${CI:-}" != true ] || { echo "CI=true and CFSSL did not start"; exit 1; }; fi
fi

echo "== warming up (JIT, tiered compilation) on every path measured below"
for path_script in "/bench/static $work/post.lua" "/ocsp $work/post.lua" "/ocsp $work/nonce.lua"; do
  set -- $path_script
  wrk -t2 -c32 -d2s -s "$2" "$base$1" >/dev/null 2>&1 || true
done
wrk -t2 -c32 -d2s "$base$get_path" >/dev/null 2>&1 || true
[ -z "$cfssl_ok" ] || wrk -t2 -c32 -d2s -s "$cf/post.lua" "$cfssl_ocsp_url/" >/dev/null 2>&1 || true

# Issue 16 (rows 16.2 and 16.5): the static ceiling, our cached POST and CFSSL's ocspserve are each measured twice, in
# windows placed symmetrically (static, POST, CFSSL, GET, nonce, CFSSL, POST, static), so a drift of the machine that
# is linear in time weighs on all three alike; rows 1 keep their first windows.
echo "== wrk -t2 -c32 -d$wrk_time: static ceiling, cached OCSP (POST, GET), OCSP with nonce${cfssl_ok:+, CFSSL ocspserve}"
# The mean of two windows, or 0 when either measured nothing (a failed window must not pass as half a figure).
pair_mean() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { printf "%d", (a > 0 && b > 0) ? (a + b) / 2 : 0 }'; }
wrk_peer_rps() { # url script -> rps
  local out; out=$(wrk -t2 -c32 -d"$wrk_time" -s "$2" "$1" 2>&1); echo "$out" >>"$work/wrk.log"
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  [ -z "$non2xx" ] || echo "   warning: $non2xx non-2xx answers from $1" >&2
  echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}'
}
read -r static_rps static_p99 < <(run_wrk "$work/post.lua" /bench/static)
read -r post_rps post_p99 < <(run_wrk "$work/post.lua" /ocsp)
[ -z "$cfssl_ok" ] || cf_ocsp1=$(wrk_peer_rps "$cfssl_ocsp_url/" "$cf/post.lua")
read -r get_rps get_p99 < <(run_wrk "" "$get_path")
read -r nonce_rps nonce_p99 < <(run_wrk "$work/nonce.lua" /ocsp)
[ -z "$cfssl_ok" ] || cf_ocsp2=$(wrk_peer_rps "$cfssl_ocsp_url/" "$cf/post.lua")
read -r post2_rps _ < <(run_wrk "$work/post.lua" /ocsp)
read -r static2_rps _ < <(run_wrk "$work/post.lua" /bench/static)
post_pair_rps=$(pair_mean "$post_rps" "$post2_rps"); static_pair_rps=$(pair_mean "$static_rps" "$static2_rps")
echo "   static $static_rps/s, $static2_rps/s; cached POST $post_rps/s, $post2_rps/s${cfssl_ok:+; CFSSL ocspserve $cf_ocsp1/s, $cf_ocsp2/s}"
cf_ocsp_rps=""; [ -z "$cfssl_ok" ] || cf_ocsp_rps=$(pair_mean "$cf_ocsp1" "$cf_ocsp2")

echo "== OpenSSL's OCSP responder (-multi 2) vs ours, ab -n $ab_requests -c 16 (a new connection per request)"
mkdir -p "$work/ossl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ossl/ca.key" -subj /CN=ossl-ca -days 30 -out "$work/ossl/ca.pem" 2>/dev/null
printf 'V\t301231235959Z\t\t1234\tunknown\t/CN=x\n' >"$work/ossl/index.txt"
openssl ocsp -issuer "$work/ossl/ca.pem" -serial 0x1234 -no_nonce -reqout "$work/ossl/req.der" >/dev/null 2>&1
ossl_port=$(free_port)
openssl ocsp -index "$work/ossl/index.txt" -port "$ossl_port" -rsigner "$work/ossl/ca.pem" -rkey "$work/ossl/ca.key" -CA "$work/ossl/ca.pem" -multi 2 -ignore_err >"$work/ossl/log" 2>&1 &
ossl_pid=$!; pids+=("$ossl_pid"); disown "$ossl_pid"
for _ in $(seq 1 50); do curl -s -o /dev/null --data-binary @"$work/ossl/req.der" -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$ossl_port/" && break; sleep 0.1; done
ab_rps() { ab -q -n "$ab_requests" -c 16 -p "$1" -T application/ocsp-request "$2" 2>/dev/null | awk '/Requests per second/ {printf "%d", $4}'; }
ossl_rps=$(ab_rps "$work/ossl/req.der" "http://127.0.0.1:$ossl_port/")
# Stopped now: after ab its two workers spin on connections ab closed (about a core, seen 2026-12-02), which would
# load every row measured after this one. Its parent respawns killed workers, so the parent goes first.
kill -KILL "$ossl_pid" 2>/dev/null || true; pkill -KILL -f "openssl ocsp -index $work/ossl/index.txt -port $ossl_port " 2>/dev/null || true
ours_ab_rps=$(ab_rps "$work/req.der" "$base/ocsp")
# What bounds a new connection per request: the same ab against fixed bytes from the same process.
static_ab_rps=$(ab_rps "$work/req.der" "$base/bench/static")
# Ours with keep-alive (ab -k). OpenSSL's responder cannot be measured so: it serves one connection per worker
# until the client closes it, so ab -k stalls on it.
ours_abk_rps=$(ab -q -k -n "$(( ab_requests * 4 ))" -c 16 -p "$work/req.der" -T application/ocsp-request "$base/ocsp" 2>/dev/null | awk '/Requests per second/ {printf "%d", $4}')

# Issue 16 (row 16.3): a new connection per request, ours against OpenSSL's responder and CFSSL's ocspserve, twice the
# requests of the rows above and alternating (ours, OpenSSL, CFSSL, CFSSL, OpenSSL, ours): each figure is the mean of
# its two runs. Every run must end without a failed request.
ab_peer() { # request url -> rps, or 0 when a request failed or was answered other than 200
  local out; out=$(ab -q -n "$(( ab_requests * 2 ))" -c 16 -p "$1" -T application/ocsp-request "$2" 2>&1)
  echo "$out" >>"$work/ab.log"
  # ab counts an answer whose length differs from the first one's as failed ("Length"): OpenSSL's responder signs each
  # answer afresh and an ECDSA signature's DER length varies, so only connect, receive and other errors count here.
  if [ "$(awk '/^Non-2xx/ {n++} END {print n+0}' <<<"$out")" != 0 ] \
    || [ "$(awk '/\(Connect:/ {gsub(/[(),]/, ""); n = $2 + $4 + $8} END {print n+0}' <<<"$out")" != 0 ] \
    || ! grep -q '^Requests per second' <<<"$out"; then
    echo "   warning: failed or non-200 answers from ab against $2" >&2; echo 0; return
  fi
  echo "$out" | awk '/Requests per second/ {printf "%d", $4}'
}
echo "== new connection per request, ab -n $(( ab_requests * 2 )) -c 16: ours, OpenSSL${cfssl_ok:+, CFSSL ocspserve}, alternating"
# OpenSSL 3.0's responder (-multi 2) stalls after one ab run here: both workers stay blocked on connections ab has
# closed (CLOSE-WAIT) and the next run times out. Each OpenSSL window therefore gets a fresh responder, stopped after it.
ossl_fresh() { # -> rps of one ab run against a responder started for it
  local port pid rps; port=$(free_port)
  openssl ocsp -index "$work/ossl/index.txt" -port "$port" -rsigner "$work/ossl/ca.pem" -rkey "$work/ossl/ca.key" -CA "$work/ossl/ca.pem" -multi 2 -ignore_err >>"$work/ossl/log" 2>&1 &
  pid=$!; disown "$pid"
  for _ in $(seq 1 50); do curl -s -o /dev/null --data-binary @"$work/ossl/req.der" -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$port/" && break; sleep 0.1; done
  rps=$(ab_peer "$work/ossl/req.der" "http://127.0.0.1:$port/")
  pkill -KILL -P "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true
  echo "$rps"
}
ab1=$(ab_peer "$work/req.der" "$base/ocsp"); ossl1=$(ossl_fresh)
if [ -n "$cfssl_ok" ]; then cfab1=$(ab_peer "$cf/req.der" "$cfssl_ocsp_url/"); cfab2=$(ab_peer "$cf/req.der" "$cfssl_ocsp_url/"); fi
ossl2=$(ossl_fresh); ab2=$(ab_peer "$work/req.der" "$base/ocsp")
ab_pair_rps=$(pair_mean "$ab1" "$ab2"); ossl_pair_rps=$(pair_mean "$ossl1" "$ossl2")
cf_ab_rps=""; [ -z "$cfssl_ok" ] || cf_ab_rps=$(pair_mean "$cfab1" "$cfab2")
echo "   ours $ab1/s, $ab2/s; OpenSSL $ossl1/s, $ossl2/s${cfssl_ok:+; CFSSL ocspserve $cfab1/s, $cfab2/s}"

echo "== raw signing and in-process issuance"
dotnet "$bench_dll" sign-speed "$speed_seconds" >"$work/sign.log"
sign_1t=$(awk -F= '/sign_p256_1t/ {print $2}' "$work/sign.log"); sign_all=$(awk -F= '/sign_p256_all/ {print $2}' "$work/sign.log")
dotnet "$bench_dll" issue-speed "$speed_seconds" >"$work/issue.log"
issue_1t=$(awk -F= '/issue_inprocess_1t/ {print $2}' "$work/issue.log")
# Issue 16 (row 16.4): the same work the way it was done before issue 16, measured by the same process (n/a until the
# subcommand prints it).
issue_baseline_1t=$(awk -F= '/issue_baseline_1t/ {print $2}' "$work/issue.log")

# Enrollment over REST (row 3) and over EST (issue 13: RFC 7030 simpleenroll), the same tool, threads, connections and
# kind of seeded tokens and P-256 CSRs. Only the wire differs: EST goes over TLS to the Pki:MtlsUrl listener (EST is
# served only there; wrk keeps its connections, so each pays one handshake) with HTTP Basic (the token as password),
# the CSR as base64 DER and a certs-only CMS answer. This machine's speed drifts by up to 2x within minutes, so after a
# warm-up of each the two alternate, REST, EST, EST, REST, half the time each; each figure is its two windows together.
# Every serial answered (REST: from the JSON; EST: read out of the CMS) must be a committed row.
half=$(( enroll_seconds / 2 ))
echo "== enrollment, REST and EST alternating (REST, EST, EST, REST): wrk -t2 -c$enroll_clients -d${half}s each, a fresh token per request (after ${enroll_warm_seconds}s warm-ups of both)"
seed() { dotnet "$bench_dll" enroll-seed "$work/data" "$1" "$work/tokens-$2" "$work/bodies" >/dev/null; }
seed $(( enroll_warm_seconds * 4000 )) rest-warm; seed $(( enroll_warm_seconds * 4000 )) est-warm
for window in r1 e1 e2 r2; do seed $(( half * 4000 )) "$window"; done
python3 ops/bench/est-prepare.py csrs "$work/bodies" "$work/est-csrs"
for window in est-warm e1 e2; do python3 ops/bench/est-prepare.py auth "$work/tokens-$window" "$work/auth-$window"; done
enroll_window() { # rest|est window seconds: wrk's output in $work/wrk-<window>.log, answers in $work/out-<window>/
  local kind="$1" window="$2" seconds="$3"
  mkdir -p "$work/out-$window"
  if [ "$kind" = rest ]; then
    wrk -t2 -c"$enroll_clients" -d"${seconds}s" --latency -s ops/bench/enroll.lua "$base" -- "$work/tokens-$window" "$work/bodies" "$work/out-$window" 2 >"$work/wrk-$window.log" 2>&1 || true
  else
    wrk -t2 -c"$enroll_clients" -d"${seconds}s" --latency -s ops/bench/est-enroll.lua "$mtls_base" -- "$work/auth-$window" "$work/est-csrs" "$work/out-$window" 2 >"$work/wrk-$window.log" 2>&1 || true
  fi
  cat "$work/wrk-$window.log" >>"$work/wrk.log"
}
window_answers() { cat "$work/out-$1"/* 2>/dev/null | grep -c . || true; }
window_seconds() { awk '/requests in/ {v=$4; sub(/,$/,"",v); if (v ~ /ms$/) {sub(/ms/,"",v); v=v/1000} else {sub(/s$/,"",v)}; print v}' "$work/wrk-$1.log"; }
window_p99_ms() { awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; printf "%.1f", v}' "$work/wrk-$1.log"; }
window_refused() { awk '/Non-2xx/ {print $5}' "$work/wrk-$1.log"; }
enroll_window rest rest-warm "$enroll_warm_seconds"; enroll_window est est-warm "$enroll_warm_seconds"
enroll_window rest r1 "$half"; enroll_window est e1 "$half"; enroll_window est e2 "$half"; enroll_window rest r2 "$half"
for window in r1 e1 e2 r2; do
  refused=$(window_refused "$window"); [ -z "$refused" ] || echo "   warning: $refused enrollments refused in window $window"
  printf '   %s: %s answers in %s s = %s/s (p99 %s ms)\n' "$window" "$(window_answers "$window")" "$(window_seconds "$window")" \
    "$(awk -v n="$(window_answers "$window")" -v s="$(window_seconds "$window")" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')" "$(window_p99_ms "$window")"
done
mkdir -p "$work/serials" "$work/est-serials"
for window in r1 r2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/serials/$window-$(basename "$file")"; fi; done; done
python3 ops/bench/est-prepare.py serials "$work/out-e1" "$work/est-serials"
python3 ops/bench/est-prepare.py serials "$work/out-e2" "$work/est-serials"
dotnet "$bench_dll" enroll-check "$work/data" "$work/serials" >"$work/enroll.log" || true
grep -v RESULT "$work/enroll.log" | sed 's/^/   REST: /' || true
dotnet "$bench_dll" enroll-check "$work/data" "$work/est-serials" >"$work/est-enroll.log" || true
grep -v RESULT "$work/est-enroll.log" | sed 's/^/   EST: /; s/answered 201/answered 200/' || true
enroll_created=$(awk -F= '/enroll_created/ {print $2}' "$work/enroll.log")
enroll_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/enroll.log")
enroll_elapsed=$(awk -v a="$(window_seconds r1)" -v b="$(window_seconds r2)" 'BEGIN { print a + b }')
enroll_p99=$(awk -v a="$(window_p99_ms r1)" -v b="$(window_p99_ms r2)" 'BEGIN { printf "%.1fms", (a > b) ? a : b }')
enroll_rps=$(awk -v n="${enroll_created:-0}" -v s="$enroll_elapsed" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
est_created=$(awk -F= '/enroll_created/ {print $2}' "$work/est-enroll.log")
est_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/est-enroll.log")
est_elapsed=$(awk -v a="$(window_seconds e1)" -v b="$(window_seconds e2)" 'BEGIN { print a + b }')
est_p99=$(awk -v a="$(window_p99_ms e1)" -v b="$(window_p99_ms e2)" 'BEGIN { printf "%.1fms", (a > b) ? a : b }')
est_rps=$(awk -v n="${est_created:-0}" -v s="$est_elapsed" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')

# Issue 16 (row 16.1): enrollment end to end against CFSSL's `cfssl serve` signing the same kind of P-256 CSRs (its
# /api/v1/cfssl/sign: CSR in, certificate out; no token to check), with its SQLite certdb and without a database; the
# same wrk threads and connections as row 3. After short warm-ups of both CFSSL servers, six windows of half the
# enrollment time, placed symmetrically: ours, CFSSL+certdb, CFSSL, CFSSL, CFSSL+certdb, ours (ours on fresh tokens,
# every serial answered checked committed, as row 3). CFSSL's answers are checked too: the first certificates of each
# wrk thread verify against the CFSSL CA and have their certdb row, and the certdb holds one row per answer (plus the
# probe, plus at most one in flight per connection when wrk stopped).
cf_enroll_rps=""; cf_enroll_db_rps=""; peer_enroll_rps=""; peer_enroll_committed=0
if [ -n "$cfssl_ok" ]; then
  cf_warm=$(( enroll_warm_seconds < 3 ? enroll_warm_seconds : 3 ))
  echo "== enrollment next to CFSSL (ours, CFSSL+certdb, CFSSL, CFSSL, CFSSL+certdb, ours): wrk -t2 -c$enroll_clients -d${half}s each (after ${cf_warm}s warm-ups of CFSSL)"
  for window in p1 p2; do seed $(( half * 4000 )) "$window"; done
  jq -c '{certificate_request: .csr}' "$work/bodies" >"$cf/bodies"
  cfssl_window() { # window url seconds: wrk's output in $work/wrk-<window>.log, answers in $work/out-<window>/
    mkdir -p "$work/out-$1"
    wrk -t2 -c"$enroll_clients" -d"${3}s" --latency -s ops/bench/cfssl-sign.lua "$2" -- "$cf/bodies" "$work/out-$1" 3 >"$work/wrk-$1.log" 2>&1 || true
    cat "$work/wrk-$1.log" >>"$work/wrk.log"
  }
  cfssl_window cfd-warm "$cfssl_db_url" "$cf_warm"; cfssl_window cfn-warm "$cfssl_nodb_url" "$cf_warm"
  enroll_window rest p1 "$half"; cfssl_window cfd1 "$cfssl_db_url" "$half"; cfssl_window cfn1 "$cfssl_nodb_url" "$half"
  cfssl_window cfn2 "$cfssl_nodb_url" "$half"; cfssl_window cfd2 "$cfssl_db_url" "$half"; enroll_window rest p2 "$half"
  cf_answers() { cat "$work/out-$1"/answers-* 2>/dev/null | grep -c . || true; }
  for window in p1 cfd1 cfn1 cfn2 cfd2 p2; do
    refused=$(window_refused "$window"); [ -z "$refused" ] || echo "   warning: $refused answers other than 2xx in window $window"
    case "$window" in p*) n=$(window_answers "$window") ;; *) n=$(cf_answers "$window") ;; esac
    printf '   %s: %s answers in %s s = %s/s (p99 %s ms)\n' "$window" "$n" "$(window_seconds "$window")" \
      "$(awk -v n="$n" -v s="$(window_seconds "$window")" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')" "$(window_p99_ms "$window")"
  done
  pair_rps() { # count-a count-b window-a window-b -> rps over both windows
    awk -v a="$1" -v b="$2" -v s="$(awk -v x="$(window_seconds "$3")" -v y="$(window_seconds "$4")" 'BEGIN { print x + y }')" \
      'BEGIN { printf "%d", (s > 0) ? (a + b) / s : 0 }'
  }
  mkdir -p "$work/peer-serials"
  for window in p1 p2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/peer-serials/$window-$(basename "$file")"; fi; done; done
  dotnet "$bench_dll" enroll-check "$work/data" "$work/peer-serials" >"$work/peer-enroll.log" || true
  grep -v RESULT "$work/peer-enroll.log" | sed 's/^/   ours: /' || true
  peer_enroll_created=$(awk -F= '/enroll_created/ {print $2}' "$work/peer-enroll.log")
  peer_enroll_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/peer-enroll.log")
  peer_enroll_rps=$(awk -v n="${peer_enroll_created:-0}" -v s="$(awk -v x="$(window_seconds p1)" -v y="$(window_seconds p2)" 'BEGIN { print x + y }')" \
    'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
  cf_enroll_db_rps=$(pair_rps "$(cf_answers cfd1)" "$(cf_answers cfd2)" cfd1 cfd2)
  cf_enroll_rps=$(pair_rps "$(cf_answers cfn1)" "$(cf_answers cfn2)" cfn1 cfn2)
  db_answers=$(( $(cf_answers cfd-warm) + $(cf_answers cfd1) + $(cf_answers cfd2) ))
  # A request wrk gave up on (its socket errors: timeouts, read errors) may have been committed all the same.
  db_abandoned=$(cat "$work/wrk-cfd-warm.log" "$work/wrk-cfd1.log" "$work/wrk-cfd2.log" | awk '/Socket errors/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n+0}')
  if python3 - "$cf/certs.db" "$cf/ca.pem" "$db_answers" "$(( 3 * enroll_clients + 1 + db_abandoned ))" "$work"/out-cf*/sample-*.pem <<'PY'
import sqlite3, subprocess, sys
db_path, ca, answers, slack, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
db = sqlite3.connect(db_path)
rows = db.execute("SELECT COUNT(*) FROM certificates").fetchone()[0]
ok = answers + 1 <= rows <= answers + slack  # + 1: the probe signed before the load
print(f"   CFSSL certdb: {rows} certificate rows for {answers} answers of 200 (warm-up included, + 1 probe; the rest were in flight when wrk stopped)")
checked = 0
for pem in samples:
    verified = subprocess.run(["openssl", "verify", "-CAfile", ca, pem], capture_output=True, text=True)
    serial = subprocess.run(["openssl", "x509", "-in", pem, "-noout", "-serial"], capture_output=True, text=True).stdout.strip()
    if verified.returncode != 0 or not serial.startswith("serial="):
        print(f"   CFSSL answer {pem} is not a certificate of the CFSSL CA: {verified.stdout}{verified.stderr}".rstrip()); ok = False; continue
    if "/out-cfd" in pem:
        # certdb keys a row by the serial in decimal (certdb.CertificateRecord.Serial = serial.String()).
        if db.execute("SELECT COUNT(*) FROM certificates WHERE serial_number = ?", (str(int(serial[7:], 16)),)).fetchone()[0] != 1:
            print(f"   CFSSL certificate {serial} answered 200 but has no certdb row"); ok = False; continue
    checked += 1
print(f"   CFSSL answers sampled: {checked} of {len(samples)} verify against the CFSSL CA (those of the certdb server have their row)")
sys.exit(0 if ok and checked == len(samples) and checked > 0 else 1)
PY
  then cfssl_checked=1; else echo "   warning: CFSSL's answers or certdb did not check out"; fi
fi

# Issue 14: the CA keys in a PKCS#11 module (SoftHSM2, a throwaway token the script makes: its own token directory and
# softhsm2.conf, deleted with $work). One more node with Pki:KeyStore=Pkcs11 on its own data directory; enrollment on it
# against the file-store service above, alternating (file, SoftHSM2, SoftHSM2, file) after a warm-up of each, as the
# EST row. Nonce OCSP is signed by the delegated responder key, which stays in software by default
# (Pkcs11:OcspResponderKeys=Software); a third node on a second token with OcspResponderKeys=Token shows what signing
# every OCSP answer in the token costs. The PIN goes in as the environment variable Pkcs11__Pin, as the README says.
hsm_module=/usr/lib/softhsm/libsofthsm2.so
hsm_enroll_rps=""; hsm_enroll_p99=""; hsm_enroll_committed=0; file_enroll_rps=""; file_enroll_committed=0
hsm_nonce_rps=""; hsm_token_nonce_rps=""; file_nonce_rps=""; hsm_ocsp_checked=0
if ! command -v softhsm2-util >/dev/null || [ ! -e "$hsm_module" ]; then
  echo "== SoftHSM2 rows skipped: no softhsm2-util on PATH or no $hsm_module (apt-get install softhsm2)"
  [ "${CI:-}" != true ] || { echo "CI=true and SoftHSM2 is missing"; exit 1; }
else
  echo "== SoftHSM2: throwaway tokens in $work/softhsm"
  mkdir -p "$work/softhsm/tokens"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' "$work/softhsm/tokens" >"$work/softhsm/softhsm2.conf"
  hsm_pin="bench-$(openssl rand -hex 8)"
  for label in pki-bench pki-bench-ocsp; do
    SOFTHSM2_CONF="$work/softhsm/softhsm2.conf" softhsm2-util --init-token --free --label "$label" --pin "$hsm_pin" --so-pin "so-$hsm_pin" >/dev/null
  done
  start_hsm_node() { # name token-label responder-keys -> sets node_base; the file-store service's settings otherwise
    local name="$1" label="$2" responder="$3" port; port=$(free_port)
    node_base="http://127.0.0.1:$port"
    SOFTHSM2_CONF="$work/softhsm/softhsm2.conf" Pkcs11__Pin="$hsm_pin" \
    dotnet "$api_dll" --urls "$node_base" --Pki:DataDirectory="$work/$name" --Pki:PublicBaseUrl="$node_base" --Pki:KeyPassphrase=bench \
      --Admin:BootstrapApiKey="$key" --Pki:MtlsUrl= --Pki:KeyStore=Pkcs11 --Pkcs11:Library="$hsm_module" --Pkcs11:TokenLabel="$label" \
      --Pkcs11:OcspResponderKeys="$responder" \
      --RateLimits:PublicPerSecond=100000000 --RateLimits:EnrollmentPerMinute=100000000 \
      --Logging:LogLevel:Default=Warning >"$work/$name.log" 2>&1 &
    local pid=$!; pids+=("$pid"); hsm_pids+=("$pid"); disown "$pid"
    for _ in $(seq 1 240); do curl -fs "$node_base/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fs "$node_base/health/ready" >/dev/null || { cat "$work/$name.log" >&2; exit 1; }
  }
  hsm_ocsp_client() { # base dir: enrolls CN=bench-ocsp there and writes dir/nonce.lua (a fresh nonce per request, as above)
    local node_base="$1" dir="$2" token
    mkdir -p "$dir"
    token=$(curl -fs -X POST "$node_base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"commonName":"bench-ocsp"}' | jq -r .token)
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/client.key" -subj /CN=bench-ocsp -out "$dir/client.csr" 2>/dev/null
    jq -n --rawfile csr "$dir/client.csr" '{csr: $csr}' | curl -fs -X POST "$node_base/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- | jq -r .certificate >"$dir/client.pem"
    curl -fs "$node_base/pki/ca.pem" >"$dir/ca.pem"; curl -fs "$node_base/pki/chain.pem" >"$dir/chain.pem"
    # One answer checked with openssl first: signed by a responder the token-held issuing CA certified, nonce echoed.
    if openssl ocsp -issuer "$dir/ca.pem" -cert "$dir/client.pem" -url "$node_base/ocsp" -CAfile "$dir/chain.pem" 2>&1 | grep -q "client.pem: good"; then
      hsm_ocsp_checked=$(( hsm_ocsp_checked + 1 ))
    else
      echo "   warning: openssl ocsp did not verify an answer of $node_base"
    fi
    openssl ocsp -issuer "$dir/ca.pem" -cert "$dir/client.pem" -reqout "$dir/req_nonce.der" >/dev/null 2>&1
    sed "s#$work/req_nonce.der#$dir/req_nonce.der#" "$work/nonce.lua" >"$dir/nonce.lua"
  }
  hsm_pids=()
  start_hsm_node hsm pki-bench Software; hsm_base=$node_base
  start_hsm_node hsm-token pki-bench-ocsp Token; hsm_token_base=$node_base
  hsm_ocsp_client "$hsm_base" "$work/hsm-ocsp"; hsm_ocsp_client "$hsm_token_base" "$work/hsm-token-ocsp"

  echo "== enrollment, file store and SoftHSM2 alternating (file, SoftHSM2, SoftHSM2, file): wrk -t2 -c$enroll_clients -d${half}s each (after ${enroll_warm_seconds}s warm-ups of both)"
  hsm_seed() { dotnet "$bench_dll" enroll-seed "$1" "$2" "$work/tokens-$3" "$work/bodies" >/dev/null; }
  hsm_seed "$work/data" $(( enroll_warm_seconds * 4000 )) file-warm; hsm_seed "$work/hsm" $(( enroll_warm_seconds * 4000 )) hsm-warm
  for window in f1 f2; do hsm_seed "$work/data" $(( half * 4000 )) "$window"; done
  for window in h1 h2; do hsm_seed "$work/hsm" $(( half * 4000 )) "$window"; done
  hsm_window() { # base window seconds: as enroll_window's REST case, against base
    mkdir -p "$work/out-$2"
    wrk -t2 -c"$enroll_clients" -d"${3}s" --latency -s ops/bench/enroll.lua "$1" -- "$work/tokens-$2" "$work/bodies" "$work/out-$2" 2 >"$work/wrk-$2.log" 2>&1 || true
    cat "$work/wrk-$2.log" >>"$work/wrk.log"
  }
  hsm_window "$base" file-warm "$enroll_warm_seconds"; hsm_window "$hsm_base" hsm-warm "$enroll_warm_seconds"
  hsm_window "$base" f1 "$half"; hsm_window "$hsm_base" h1 "$half"; hsm_window "$hsm_base" h2 "$half"; hsm_window "$base" f2 "$half"
  for window in f1 h1 h2 f2; do
    refused=$(window_refused "$window"); [ -z "$refused" ] || echo "   warning: $refused enrollments refused in window $window"
    printf '   %s: %s answers in %s s = %s/s (p99 %s ms)\n' "$window" "$(window_answers "$window")" "$(window_seconds "$window")" \
      "$(awk -v n="$(window_answers "$window")" -v s="$(window_seconds "$window")" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')" "$(window_p99_ms "$window")"
  done
  mkdir -p "$work/file-serials" "$work/hsm-serials"
  for window in f1 f2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/file-serials/$window-$(basename "$file")"; fi; done; done
  for window in h1 h2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/hsm-serials/$window-$(basename "$file")"; fi; done; done
  dotnet "$bench_dll" enroll-check "$work/data" "$work/file-serials" >"$work/file-enroll.log" || true
  grep -v RESULT "$work/file-enroll.log" | sed 's/^/   file store: /' || true
  dotnet "$bench_dll" enroll-check "$work/hsm" "$work/hsm-serials" >"$work/hsm-enroll.log" || true
  grep -v RESULT "$work/hsm-enroll.log" | sed 's/^/   SoftHSM2: /' || true
  file_enroll_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/file-enroll.log")
  file_enroll_rps=$(awk -v n="$(awk -F= '/enroll_created/ {print $2}' "$work/file-enroll.log")" -v s="$(awk -v a="$(window_seconds f1)" -v b="$(window_seconds f2)" 'BEGIN { print a + b }')" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
  hsm_enroll_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/hsm-enroll.log")
  hsm_enroll_rps=$(awk -v n="$(awk -F= '/enroll_created/ {print $2}' "$work/hsm-enroll.log")" -v s="$(awk -v a="$(window_seconds h1)" -v b="$(window_seconds h2)" 'BEGIN { print a + b }')" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
  hsm_enroll_p99=$(awk -v a="$(window_p99_ms h1)" -v b="$(window_p99_ms h2)" 'BEGIN { printf "%.1fms", (a > b) ? a : b }')

  echo "== OCSP with nonce: file store, SoftHSM2 (responder key in software), SoftHSM2 (responder key in the token), wrk -t2 -c32 -d$wrk_time, F S T T S F"
  hsm_nonce() { # base lua -> rps (warnings of non-2xx as run_wrk)
    local out; out=$(wrk -t2 -c32 -d"$wrk_time" --latency -s "$2" "$1/ocsp" 2>&1)
    echo "$out" >>"$work/wrk.log"
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    [ -z "$non2xx" ] || echo "   warning: $non2xx non-2xx answers from $1/ocsp" >&2
    echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}'
  }
  wrk -t2 -c32 -d2s -s "$work/hsm-ocsp/nonce.lua" "$hsm_base/ocsp" >/dev/null 2>&1 || true  # warm-up of both SoftHSM2 nodes' OCSP path
  wrk -t2 -c32 -d2s -s "$work/hsm-token-ocsp/nonce.lua" "$hsm_token_base/ocsp" >/dev/null 2>&1 || true
  nf1=$(hsm_nonce "$base" "$work/nonce.lua"); ns1=$(hsm_nonce "$hsm_base" "$work/hsm-ocsp/nonce.lua"); nt1=$(hsm_nonce "$hsm_token_base" "$work/hsm-token-ocsp/nonce.lua")
  nt2=$(hsm_nonce "$hsm_token_base" "$work/hsm-token-ocsp/nonce.lua"); ns2=$(hsm_nonce "$hsm_base" "$work/hsm-ocsp/nonce.lua"); nf2=$(hsm_nonce "$base" "$work/nonce.lua")
  file_nonce_rps=$(( (nf1 + nf2) / 2 )); hsm_nonce_rps=$(( (ns1 + ns2) / 2 )); hsm_token_nonce_rps=$(( (nt1 + nt2) / 2 ))
  echo "   file store $nf1/s, $nf2/s; SoftHSM2, responder in software $ns1/s, $ns2/s; responder in the token $nt1/s, $nt2/s"
  for pid in "${hsm_pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done  # the rows below measure without them
fi

# Issue 11: the same enrollment against one node on PostgreSQL (same machine), cached OCSP on that node against the
# SQLite one, and revoke on node A -> OCSP revoked on node B.
pg_enroll_rps=""; pg_enroll_p99=""; pg_sqlite_rps=""; pg_sqlite_p99=""; pg_sqlite_committed=0; pg_enroll_committed=0; pg_enroll_created=0; pg_rows=""; pg_post_rps=""; sqlite_post_rps=""
cluster_p50=""; cluster_p99=""; cluster_max=""; cluster_count=0; cluster_never=""
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] || { command -v initdb >/dev/null && pg_bin=$(dirname "$(command -v initdb)"); } || true
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "== PostgreSQL rows skipped: no initdb in /usr/lib/postgresql/*/bin or on PATH (apt-get install postgresql)"
  [ "${CI:-}" != true ] || { echo "CI=true and PostgreSQL is missing"; exit 1; }
else
  echo "== PostgreSQL: a throwaway cluster ($pg_bin)"
  pg_root="$(mktemp -d /tmp/pki-bench-pg.XXXXXX)"
  # PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
  if [ "$(id -u)" = 0 ]; then chown postgres: "$pg_root"; as_postgres=(runuser -u postgres --); fi
  "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_root/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
  pg_port=$(free_port)
  # Durability as shipped (fsync and synchronous_commit on), as SQLite's synchronous=FULL on the same disk.
  "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_root/data" -l "$pg_root/server.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pg_root -c max_connections=200" start >/dev/null \
    || { cat "$pg_root/server.log"; exit 1; }
  psql_run() { "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -qAt "$@"; }
  psql_run -d postgres -c "CREATE DATABASE pki_bench" >/dev/null
  pg_cs="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=pki_bench;Maximum Pool Size=50"

  start_pg_node() { # name -> sets node_base; same settings as the SQLite service above (not in $(...): pids+= must stick)
    local name="$1" port; port=$(free_port)
    node_base="http://127.0.0.1:$port"
    dotnet "$api_dll" --urls "$node_base" --Pki:DataDirectory="$work/$name" --Pki:PublicBaseUrl="$node_base" --Pki:KeyPassphrase=bench \
      --Admin:BootstrapApiKey="$key" --Pki:MtlsUrl= --Database:Provider=Postgres --ConnectionStrings:Pki="$pg_cs" \
      --RateLimits:PublicPerSecond=100000000 --RateLimits:EnrollmentPerMinute=100000000 \
      --Logging:LogLevel:Default=Warning >"$work/$name.log" 2>&1 &
    local pid=$!; pids+=("$pid"); disown "$pid"
    for _ in $(seq 1 240); do curl -fs "$node_base/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fs "$node_base/health/ready" >/dev/null || { cat "$work/$name.log" >&2; exit 1; }
  }
  enroll_client() { # base dir: enrolls CN=bench-ocsp there, writes dir/client.pem, dir/ca.pem, dir/req.der, dir/post.lua
    local node_base="$1" dir="$2" token
    mkdir -p "$dir"
    token=$(curl -fs -X POST "$node_base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"commonName":"bench-ocsp"}' | jq -r .token)
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/client.key" -subj /CN=bench-ocsp -out "$dir/client.csr" 2>/dev/null
    jq -n --rawfile csr "$dir/client.csr" '{csr: $csr}' | curl -fs -X POST "$node_base/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- | jq -r .certificate >"$dir/client.pem"
    curl -fs "$node_base/pki/ca.pem" >"$dir/ca.pem"
    openssl ocsp -issuer "$dir/ca.pem" -cert "$dir/client.pem" -no_nonce -reqout "$dir/req.der" >/dev/null 2>&1
    printf 'local f = io.open("%s", "rb"); wrk.body = f:read("*all"); f:close()\nwrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"\n' "$dir/req.der" >"$dir/post.lua"
  }

  # Alternating with the SQLite service above (SQLite, PostgreSQL, PostgreSQL, SQLite, half the enrollment time each,
  # fresh tokens), as the other same-run comparisons: this machine drifts by up to 2x within minutes, and the SQLite
  # figure of row 3 was measured minutes earlier (four full runs compared that way gave 0.65 to 0.97).
  echo "== enrollment, SQLite and PostgreSQL alternating (SQLite, PostgreSQL, PostgreSQL, SQLite): wrk -t2 -c$enroll_clients -d${half}s each (after a ${enroll_warm_seconds}s warm-up of the PostgreSQL node)"
  start_pg_node pg-a; pg_a=$node_base
  mkdir -p "$work/pg-serials-warm" "$work/pg-serials" "$work/pg-sqlite-serials"
  pg_seed() { dotnet "$bench_dll" enroll-seed "postgres:$pg_cs" "$1" "$work/tokens-$2" "$work/pg-bodies" >/dev/null; }
  pg_seed $(( enroll_warm_seconds * 4000 )) pg-warm
  for window in q1 q2; do pg_seed $(( half * 4000 )) "$window"; done
  for window in s1 s2; do seed $(( half * 4000 )) "$window"; done
  pg_window() { # base bodies window seconds: as enroll_window's REST case, against base
    mkdir -p "$work/out-$3"
    wrk -t2 -c"$enroll_clients" -d"${4}s" --latency -s ops/bench/enroll.lua "$1" -- "$work/tokens-$3" "$2" "$work/out-$3" 2 >"$work/wrk-$3.log" 2>&1 || true
    cat "$work/wrk-$3.log" >>"$work/wrk.log"
  }
  pg_window "$pg_a" "$work/pg-bodies" pg-warm "$enroll_warm_seconds"
  pg_window "$base" "$work/bodies" s1 "$half"; pg_window "$pg_a" "$work/pg-bodies" q1 "$half"
  pg_window "$pg_a" "$work/pg-bodies" q2 "$half"; pg_window "$base" "$work/bodies" s2 "$half"
  for window in s1 q1 q2 s2; do
    refused=$(window_refused "$window"); [ -z "$refused" ] || echo "   warning: $refused enrollments refused in window $window"
    printf '   %s: %s answers in %s s = %s/s (p99 %s ms)\n' "$window" "$(window_answers "$window")" "$(window_seconds "$window")" \
      "$(awk -v n="$(window_answers "$window")" -v s="$(window_seconds "$window")" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')" "$(window_p99_ms "$window")"
  done
  for file in "$work/out-pg-warm"/*; do if [ -e "$file" ]; then cp "$file" "$work/pg-serials-warm/$(basename "$file")"; fi; done
  for window in q1 q2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/pg-serials/$window-$(basename "$file")"; fi; done; done
  for window in s1 s2; do for file in "$work/out-$window"/*; do if [ -e "$file" ]; then cp "$file" "$work/pg-sqlite-serials/$window-$(basename "$file")"; fi; done; done
  pg_enroll_elapsed=$(awk -v a="$(window_seconds q1)" -v b="$(window_seconds q2)" 'BEGIN { print a + b }')
  pg_enroll_p99=$(awk -v a="$(window_p99_ms q1)" -v b="$(window_p99_ms q2)" 'BEGIN { printf "%.1fms", (a > b) ? a : b }')
  dotnet "$bench_dll" enroll-check "$work/data" "$work/pg-sqlite-serials" >"$work/pg-sqlite-enroll.log" || true
  grep -v RESULT "$work/pg-sqlite-enroll.log" | sed 's/^/   SQLite: /' || true
  pg_sqlite_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/pg-sqlite-enroll.log")
  pg_sqlite_p99=$(awk -v a="$(window_p99_ms s1)" -v b="$(window_p99_ms s2)" 'BEGIN { printf "%.1fms", (a > b) ? a : b }')
  pg_sqlite_rps=$(awk -v n="$(awk -F= '/enroll_created/ {print $2}' "$work/pg-sqlite-enroll.log")" -v s="$(awk -v a="$(window_seconds s1)" -v b="$(window_seconds s2)" 'BEGIN { print a + b }')" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
  dotnet "$bench_dll" enroll-check "postgres:$pg_cs" "$work/pg-serials" >"$work/pg-enroll.log" || true
  grep -v RESULT "$work/pg-enroll.log" | sed 's/^/   PostgreSQL: /' || true
  pg_enroll_created=$(awk -F= '/enroll_created/ {print $2}' "$work/pg-enroll.log")
  pg_enroll_committed=$(awk -F= '/enroll_all_committed/ {print $2}' "$work/pg-enroll.log")
  pg_enroll_rps=$(awk -v n="$pg_enroll_created" -v s="$pg_enroll_elapsed" 'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
  # The rows themselves, counted after the run: one per 201 of the three runs (warm-up and two measured), plus the enrollments
  # still in flight when wrk stopped (committed, their answers dropped by wrk): at most one per connection per run.
  pg_rows=$(psql_run -d pki_bench -c 'SELECT COUNT(*) FROM "Certificates" WHERE "CommonName" = '"'bench-load'")
  pg_answered=$(cat "$work"/pg-serials-warm/* "$work"/pg-serials/* 2>/dev/null | grep -c . || true)
  pg_rows_ok=$(( pg_rows >= pg_answered && pg_rows <= pg_answered + 3 * enroll_clients ? 1 : 0 ))
  echo "   PostgreSQL: $pg_enroll_created answered 201 in the measured windows ($pg_enroll_rps/s); $pg_rows certificate rows for $pg_answered answers of 201 (warm-up included; the rest were in flight when wrk stopped)"

  echo "== cached OCSP: the PostgreSQL node against the SQLite one, wrk -t2 -c32 -d$wrk_time, alternating (ABBA)"
  enroll_client "$pg_a" "$work/pg-ocsp"
  wrk_rps() { wrk -t2 -c32 -d"$1" -s "$3" "$2/ocsp" 2>&1 | awk '/Requests\/sec/ {printf "%d", $2}'; }
  wrk_rps 2s "$pg_a" "$work/pg-ocsp/post.lua" >/dev/null  # warm-up of the PostgreSQL node's OCSP path
  s1=$(wrk_rps "$wrk_time" "$base" "$work/post.lua"); p1=$(wrk_rps "$wrk_time" "$pg_a" "$work/pg-ocsp/post.lua")
  p2=$(wrk_rps "$wrk_time" "$pg_a" "$work/pg-ocsp/post.lua"); s2=$(wrk_rps "$wrk_time" "$base" "$work/post.lua")
  sqlite_post_rps=$(( (s1 + s2) / 2 )); pg_post_rps=$(( (p1 + p2) / 2 ))
  echo "   SQLite $s1/s, $s2/s; PostgreSQL $p1/s, $p2/s"

  echo "== revoke on node A -> OCSP revoked on node B ($cluster_revocations revocations, two nodes on one PostgreSQL database)"
  start_pg_node pg-b; pg_b=$node_base
  dotnet "$bench_dll" enroll-seed "postgres:$pg_cs" "$cluster_revocations" "$work/cluster-tokens" "$work/cluster-bodies" >/dev/null
  curl -fs "$pg_a/pki/ca.pem" >"$work/pg-ca.pem"
  openssl ocsp -issuer "$work/pg-ca.pem" -serial 0x1 -no_nonce -reqout "$work/cluster-template.der" >/dev/null 2>&1
  python3 ops/bench/cluster-visibility.py "$pg_a" "$pg_b" "$key" "$work/cluster-tokens" "$work/cluster-bodies" "$work/cluster-template.der" "$cluster_revocations" \
    >"$work/cluster.log" 2>&1 || cat "$work/cluster.log"
  grep -v RESULT "$work/cluster.log" | sed 's/^/   /' || true
  cluster_p50=$(awk -F= '/cluster_ocsp_p50_ms/ {print $2}' "$work/cluster.log"); cluster_p99=$(awk -F= '/cluster_ocsp_p99_ms/ {print $2}' "$work/cluster.log")
  cluster_max=$(awk -F= '/cluster_ocsp_max_ms/ {print $2}' "$work/cluster.log"); cluster_count=$(awk -F= '/cluster_ocsp_count/ {print $2}' "$work/cluster.log")
  cluster_never=$(awk -F= '/cluster_ocsp_never/ {print $2}' "$work/cluster.log")
fi

# Issue 12: the sample API's /whoami over mTLS with the package's checks on (PkiClient:Revocation=Push: handshake
# validation plus the per-request revocation and validity check against the revoked set kept by the stream) and off
# (PkiClient:Revocation=None: the same handshake validation, claims and policy, but no revocation state and no
# revoked-set lookup per request). Both samples run at once, each with a server certificate it enrolled; the load
# alternates between them (on, off, off, on) over kept-alive connections, so the figure is the per-request cost.
echo "== sample API /whoami over mTLS: checks on (Revocation=Push) vs off (Revocation=None), mtls-load -c16, ABBA"
root_fp=$(curl -fs "$base/pki/root.crt" | openssl dgst -sha256 -r | cut -d' ' -f1)
curl -fs "$base/pki/root.pem" >"$work/root.pem"
start_sample() { # mode -> sets sample_url
  local mode="$1" port token; port=$(free_port)
  token=$(curl -fs -X POST "$base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"commonName":"localhost","sans":["localhost","127.0.0.1"],"profile":"server"}' | jq -r .token)
  sample_url="https://127.0.0.1:$port"
  dotnet "$sample_dll" --urls "$sample_url" --PkiClient:ServiceUrl="$base" --PkiClient:RootFingerprint="$root_fp" \
    --PkiClient:EnrollmentToken="$token" --PkiClient:Revocation="$mode" --Logging:LogLevel:Default=Warning >"$work/sample-$mode.log" 2>&1 &
  local pid=$!; pids+=("$pid"); disown "$pid"
  for _ in $(seq 1 120); do curl -fs --cacert "$work/root.pem" --cert "$work/whoami.pem" --key "$work/whoami.key" "$sample_url/whoami" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs --cacert "$work/root.pem" --cert "$work/whoami.pem" --key "$work/whoami.key" "$sample_url/whoami" >/dev/null || { cat "$work/sample-$mode.log"; exit 1; }
}
token=$(curl -fs -X POST "$base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"commonName":"bench-whoami","sans":["spiffe://example.org/bench/whoami"]}' | jq -r .token)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/whoami.key" -subj /CN=bench-whoami -out "$work/whoami.csr" 2>/dev/null
jq -n --rawfile csr "$work/whoami.csr" '{csr: $csr}' | curl -fs -X POST "$base/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- | jq -r .certificate >"$work/whoami.pem"
start_sample Push; sample_on=$sample_url
start_sample None; sample_off=$sample_url
mtls_rps() { # url -> rps (and appends the run to mtls.log)
  dotnet "$bench_dll" mtls-load "$1/whoami" "$work/whoami.pem" "$work/whoami.key" "$work/root.pem" 16 "${wrk_time%s}" 3 >"$work/mtls-run.log" 2>&1 || { cat "$work/mtls-run.log" >&2; echo 0; return; }
  cat "$work/mtls-run.log" >>"$work/mtls.log"
  local non200; non200=$(awk -F= '/mtls_non200/ {print $2}' "$work/mtls-run.log")
  [ "${non200:-0}" = 0 ] || echo "   warning: $non200 answers other than 200 from $1" >&2
  awk -F= '/mtls_rps/ {print $2}' "$work/mtls-run.log"
}
mtls_rps "$sample_on" >/dev/null; mtls_rps "$sample_off" >/dev/null  # warm-up: JIT and tiered compilation of both samples
on1=$(mtls_rps "$sample_on"); off1=$(mtls_rps "$sample_off"); off2=$(mtls_rps "$sample_off"); on2=$(mtls_rps "$sample_on")
whoami_on=$(( (on1 + on2) / 2 )); whoami_off=$(( (off1 + off2) / 2 ))
echo "   checks on $on1/s, $on2/s; off $off1/s, $off2/s"

echo "== revocation to visibility (kept-alive connections, so no process start is counted)"
python3 ops/bench/visibility.py "$base" "$key" "$serial" "$work/req.der" >"$work/visibility.log" || cat "$work/visibility.log"
ocsp_ms=$(awk -F= '/ocsp_ms/ {print $2}' "$work/visibility.log"); crl_ms=$(awk -F= '/crl_ms/ {print $2}' "$work/visibility.log")
[ "$ocsp_ms" != never ] || ocsp_ms=""; [ "$crl_ms" != never ] || crl_ms=""
peak_rss_mb=$(awk '/VmHWM/ {printf "%d", $2/1024}' "/proc/$service_pid/status")

scan_ms="-"
if [ "$mode" != smoke ]; then
  echo "== expiry scan over 1,000,000 certificates"
  dotnet "$bench_dll" expiry-scan 1000000 | tee "$work/scan.log" || echo "   expiry scan benchmark failed"
  scan_ms=$(awk '/steady-state scan/ {gsub(/:/,""); for (i=1;i<=NF;i++) if ($i=="ms,") v=$(i-1)} END {print v}' "$work/scan.log")
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
judge() { # condition as awk expression over v
  if [ "$mode" = smoke ]; then echo "-"; return; fi
  awk -v v="$1" "BEGIN { exit !($2) }" && echo PASS || echo FAIL
}
whoami_ratio=$(ratio "$whoami_on" "$whoami_off"); post_ratio=$(ratio "$post_rps" "$static_rps"); get_ratio=$(ratio "$get_rps" "$static_rps")
ab_ratio=$(ratio "$ours_ab_rps" "$ossl_rps"); static_ab_ratio=$(ratio "$static_ab_rps" "$ossl_rps"); abk_ratio=$(ratio "$ours_abk_rps" "$ossl_rps"); nonce_ratio=$(ratio "$nonce_rps" "$sign_1t"); nonce_ratio_all=$(ratio "$nonce_rps" "$sign_all"); enroll_ratio=$(ratio "$enroll_rps" "$issue_1t"); est_ratio=$(ratio "$est_rps" "$enroll_rps")

echo
echo "PkiService load test ($mode), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-62s %-28s %s\n' "target" "figure" "result"
printf '%-62s %-28s %s\n' "1. cached OCSP POST >= 75% of static ($static_rps/s)" "$post_rps/s = $post_ratio" "$(judge "$post_ratio" 'v >= 0.75')"
printf '%-62s %-28s %s\n' "1. cached OCSP GET >= 75% of static" "$get_rps/s = $get_ratio" "$(judge "$get_ratio" 'v >= 0.75')"
printf '%-62s %-28s %s\n' "1. cached OCSP p99 < 5 ms (POST, GET)" "$post_p99 ms, $get_p99 ms" "$(judge "$(awk -v a="$post_p99" -v b="$get_p99" 'BEGIN{print (a>b)?a:b}')" 'v < 5')"
printf '%-62s %-28s %s\n' "1. >= 5x OpenSSL responder with ab ($ossl_rps/s)" "$ours_ab_rps/s = ${ab_ratio}x" "$(judge "$ab_ratio" 'v >= 5')"
printf '%-62s %-28s %s\n' "1. (static bytes with the same ab: the per-connection ceiling)" "$static_ab_rps/s = ${static_ab_ratio}x" "-"
printf '%-62s %-28s %s\n' "1. (ours with ab -k, keep-alive)" "$ours_abk_rps/s = ${abk_ratio}x" "-"
printf '%-62s %-28s %s\n' "2. OCSP with nonce >= 10,000/s" "$nonce_rps/s (p99 $nonce_p99 ms)" "$(judge "$nonce_rps" 'v >= 10000')"
# The issue quotes raw .NET signing per core (28,900/s), and 40% of that is its 10,000/s: judged per core.
printf '%-62s %-28s %s\n' "2. nonce OCSP >= 40% of raw P-256 signing, 1 core ($sign_1t/s)" "$nonce_ratio" "$(judge "$nonce_ratio" 'v >= 0.40')"
printf '%-62s %-28s %s\n' "2. (the same against both cores, $sign_all/s)" "$nonce_ratio_all" "-"
printf '%-62s %-28s %s\n' "3. enrollment >= 1,000/s, all committed (wrk -c$enroll_clients)" "$enroll_rps/s (p99 $enroll_p99), committed=$enroll_committed" "$(judge "$enroll_rps" "v >= 1000 && $enroll_committed == 1")"
printf '%-62s %-28s %s\n' "3. enrollment / in-process issue-only ($issue_1t/s, 1 thread)" "$enroll_ratio" "-"
# No target of its own: the row shows what EST's wire (TLS, Basic, base64 DER in, CMS out) costs against REST's.
printf '%-62s %-28s %s\n' "13. EST simpleenroll, all committed (wrk -c$enroll_clients, TLS, Basic)" "$est_rps/s (p99 $est_p99), committed=${est_committed:-0}" "$(judge "${est_committed:-0}" "v == 1 && ${est_rps:-0} > 0")"
printf '%-62s %-28s %s\n' "13. EST simpleenroll / REST enrollment, same run ($enroll_rps/s)" "$est_ratio" "-"
# Issue 14: no target of its own; what the token costs. The ratios are of windows of the same run (ABBA).
if [ -n "$hsm_enroll_rps" ]; then
  printf '%-62s %-28s %s\n' "14. enrollment, CA keys in SoftHSM2, all committed (wrk -c$enroll_clients)" "$hsm_enroll_rps/s (p99 $hsm_enroll_p99), committed=${hsm_enroll_committed:-0}" "$(judge "${hsm_enroll_committed:-0}" "v == 1 && ${hsm_enroll_rps:-0} > 0 && ${file_enroll_committed:-0} == 1")"
  printf '%-62s %-28s %s\n' "14. enrollment SoftHSM2 / file store, alternating ($file_enroll_rps/s)" "$(ratio "$hsm_enroll_rps" "$file_enroll_rps")" "-"
  printf '%-62s %-28s %s\n' "14. nonce OCSP, SoftHSM2 CA, responder key in software" "$hsm_nonce_rps/s vs file $file_nonce_rps/s = $(ratio "$hsm_nonce_rps" "$file_nonce_rps")" "$(judge "$hsm_ocsp_checked" "v == 2 && ${hsm_nonce_rps:-0} > 0")"
  printf '%-62s %-28s %s\n' "14. nonce OCSP, responder key in the token (OcspResponderKeys=Token)" "$hsm_token_nonce_rps/s vs file = $(ratio "$hsm_token_nonce_rps" "$file_nonce_rps")" "-"
else
  printf '%-62s %-28s %s\n' "14. SoftHSM2 rows" "skipped: no SoftHSM2" "-"
fi
printf '%-62s %-28s %s\n' "4. revoke -> OCSP answers revoked < 100 ms (small database)" "${ocsp_ms:-never} ms" "$(judge "${ocsp_ms:-999999}" 'v < 100')"
printf '%-62s %-28s %s\n' "4. revoke -> CRL lists serial < 1 s (small database)" "${crl_ms:-never} ms" "$(judge "${crl_ms:-999999}" 'v < 1000')"
printf '%-62s %-28s %s\n' "6. expiry scan over 1,000,000 certificates < 1 s" "$scan_ms ms" "$( [ "$scan_ms" = - ] && echo - || judge "$scan_ms" 'v < 1000')"
printf '%-62s %-28s %s\n' "7. idle working set < 150 MB" "$idle_rss_mb MB" "$(judge "$idle_rss_mb" 'v < 150')"
printf '%-62s %-28s %s\n' "7. peak working set under load < 400 MB" "$peak_rss_mb MB" "$(judge "$peak_rss_mb" 'v < 400')"
if [ -n "$pg_enroll_rps" ]; then
  pg_enroll_ratio=$(ratio "$pg_enroll_rps" "$pg_sqlite_rps"); pg_ocsp_ratio=$(ratio "$pg_post_rps" "$sqlite_post_rps")
  pg_all_committed=$(( ${pg_enroll_committed:-0} == 1 && pg_rows_ok == 1 && ${pg_sqlite_committed:-0} == 1 ? 1 : 0 ))
  # Judged on the unrounded ratio, as the rows of issue 16.
  pg_enroll_exact=$(awk -v a="${pg_enroll_rps:-0}" -v b="${pg_sqlite_rps:-0}" 'BEGIN { printf "%.6f", (b > 0) ? a / b : 0 }')
  printf '%-62s %-28s %s\n' "11. enrollment on PostgreSQL >= 80% of SQLite, 1 node, all committed (alternating)" "$pg_enroll_rps/s (p99 $pg_enroll_p99) vs $pg_sqlite_rps/s (p99 $pg_sqlite_p99) = $pg_enroll_ratio, committed=$pg_all_committed" "$(judge "$pg_enroll_exact" "v >= 0.80 && $pg_all_committed == 1")"
  printf '%-62s %-28s %s\n' "11. revoke on A -> OCSP revoked on B, p99 < 100 ms (${cluster_count:-0} of $cluster_revocations)" "p50 ${cluster_p50:-?} ms, p99 ${cluster_p99:-never} ms, max ${cluster_max:-?} ms" "$(judge "${cluster_p99:-999999}" "v < 100 && ${cluster_never:-1} == 0")"
  printf '%-62s %-28s %s\n' "11. cached OCSP on a PostgreSQL node = SQLite's (>= 0.9, ABBA)" "$pg_post_rps/s vs $sqlite_post_rps/s = $pg_ocsp_ratio" "$(judge "$pg_ocsp_ratio" 'v >= 0.90')"
else
  printf '%-62s %-28s %s\n' "11. PostgreSQL rows" "skipped: no PostgreSQL" "-"
fi
printf '%-62s %-28s %s\n' "12. sample /whoami, checks on >= 95% of off (mTLS, -c16)" "$whoami_on/s vs $whoami_off/s = $whoami_ratio" "$(judge "$whoami_ratio" 'v >= 0.95')"
# Issue 16: ours against a peer CA (CFSSL 1.2.0) and against our own ceilings; every ratio is of windows of this run.
peer_row() { # target ours peer ratio-condition [extra] -> "16.x target | ours/s vs peer/s = ratio x | PASS/FAIL"
  local r result; r=$(ratio "$2" "$3")
  # Judged on the unrounded ratio: 0.348 must not pass a 0.35 target because it prints as 0.35.
  if [ "$4" = - ]; then result=-; elif [ "$r" = n/a ]; then result=$(judge 0 'v > 0'); else result=$(judge "$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.6f", a/b }')" "$4"); fi  # no peer figure: FAIL
  [ "$r" = n/a ] || r="${r}x"
  printf '%-62s %-28s %s\n' "$1" "$2/s vs $3/s = $r${5:+, $5}" "$result"
}
if [ -n "$cfssl_ok" ]; then
  enroll_checks="v >= 3.0 && ${peer_enroll_committed:-0} == 1 && $cfssl_checked == 1"
  peer_row "16.1 enrollment >= 3.0x cfssl serve + SQLite certdb (-c$enroll_clients)" "$peer_enroll_rps" "$cf_enroll_db_rps" "$enroll_checks" "committed=${peer_enroll_committed:-0}, cfssl checked=$cfssl_checked"
  peer_row "16.1 enrollment >= 0.35x cfssl serve, no database" "$peer_enroll_rps" "$cf_enroll_rps" "${enroll_checks/3.0/0.35}"
  peer_row "16.2 cached OCSP, keep-alive (wrk -t2 -c32) vs cfssl ocspserve" "$post_pair_rps" "$cf_ocsp_rps" -
else
  printf '%-62s %-28s %s\n' "16.1, 16.2 CFSSL rows" "skipped: no cfssl" "-"
fi
peer_row "16.3 OCSP, new connection per request (ab -c16) >= 1.0x OpenSSL" "$ab_pair_rps" "$ossl_pair_rps" 'v >= 1.0'
if [ -n "$cfssl_ok" ]; then
  peer_row "16.3 OCSP, new connection per request (ab -c16) >= 1.0x CFSSL" "$ab_pair_rps" "$cf_ab_rps" 'v >= 1.0'
else
  printf '%-62s %-28s %s\n' "16.3 CFSSL row" "skipped: no cfssl" "-"
fi
if [ -n "$issue_baseline_1t" ]; then
  peer_row "16.4 issuance core, 1 thread >= 2.0x before issue 16" "$issue_1t" "$issue_baseline_1t" 'v >= 2.0'
else
  printf '%-62s %-28s %s\n' "16.4 issuance core, 1 thread >= 2.0x before issue 16" "$issue_1t/s vs n/a (no issue_baseline_1t)" "-"
fi
peer_row "16.5 cached OCSP POST >= 0.95x static bytes (wrk, 2 windows each)" "$post_pair_rps" "$static_pair_rps" 'v >= 0.95'
echo "(target 5, CRL with 1,000,000 entries, and target 4 at 1,000,000 certificates: dotnet $bench_dll crl-build / revocation-visibility)"
# A peer figure whose answers did not check out measures nothing: smoke mode (which judges no figure) fails on it.
if [ "$mode" = smoke ] && [ -n "$cfssl_ok" ] && [ "$cfssl_checked" != 1 ]; then echo "CFSSL's answers or certdb did not check out"; exit 1; fi
