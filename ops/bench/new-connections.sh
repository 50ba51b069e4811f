#!/usr/bin/env bash
# OCSP on a new connection per request (issue 16, target 3): ours (cached OCSP POST, the static-bytes ceiling, and
# "before": the same build with the runtime settings of before issue 16)
# against OpenSSL's responder (-multi 2) and `cfssl ocspserve` (a pre-signed response), all under the same
# `ab -c 16`, in ABBA order so drift of the shared machine cancels. Prints requests/s and the ratios.
#
#   ops/bench/new-connections.sh [requests per ab run, default 20000] [profile]
#
# With "profile" it also runs `strace -c -f` and `perf stat` on each server under the same ab and prints syscalls and
# context switches per request (needs perf_event_paranoid <= 1 or root for perf).
# Expects a Release build of the service (dotnet build -c Release src/PkiService.Api) and ab, openssl, curl, jq;
# CFSSL is optional (Debian golang-cfssl).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
requests="${1:-20000}"; mode="${2:-}"
api_dll="$root/src/PkiService.Api/bin/Release/net10.0/PkiService.Api.dll"
[ -f "$api_dll" ] || { echo "build first: dotnet build -c Release src/PkiService.Api"; exit 2; }
for tool in ab openssl curl jq python3 dotnet; do
  command -v "$tool" >/dev/null || { echo "missing tool: $tool"; exit 2; }
done

work="$(mktemp -d /tmp/pki-newconn.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    pkill -KILL -P "$pid" 2>/dev/null || true  # OpenSSL's responder with -multi: its workers are children
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Ours, started as ops/bench/run.sh starts it; "before" is the same build with the runtime settings it had before
# issue 16 (Server GC, socket completions posted to the thread pool), so before/after comes from one run.
key="pki_ak_bench_$(openssl rand -hex 16)"
start_ours() { # name, then environment assignments
  local name=$1; shift
  local port; port=$(free_port); local url="http://127.0.0.1:$port"
  env "$@" dotnet "$api_dll" --urls "$url" --Pki:DataDirectory="$work/$name" --Pki:PublicBaseUrl="$url" --Pki:KeyPassphrase=bench \
    --Admin:BootstrapApiKey="$key" --Benchmark:StaticEndpoint=true --Pki:MtlsUrl="https://127.0.0.1:$(free_port)" \
    --RateLimits:PublicPerSecond=100000000 --RateLimits:EnrollmentPerMinute=100000000 \
    --Logging:LogLevel:Default=Warning >"$work/$name.log" 2>&1 &
  local started=$!; pids+=("$started"); disown "$started"
  for _ in $(seq 1 120); do curl -fs "$url/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs "$url/health/ready" >/dev/null || { cat "$work/$name.log"; exit 1; }
  local token; token=$(curl -fs -X POST "$url/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"commonName":"bench-ocsp"}' | jq -r .token)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/$name-client.key" -subj /CN=bench-ocsp -out "$work/$name-client.csr" 2>/dev/null
  jq -n --rawfile csr "$work/$name-client.csr" '{csr: $csr}' | curl -fs -X POST "$url/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- | jq -r .certificate >"$work/$name-client.pem"
  curl -fs "$url/pki/ca.pem" >"$work/$name-ca.pem"
  openssl ocsp -issuer "$work/$name-ca.pem" -cert "$work/$name-client.pem" -no_nonce -reqout "$work/$name-req.der" >/dev/null 2>&1
  eval "${name}_pid=$started ${name}_base=$url"
}
start_ours ours  # the service's own settings
start_ours before DOTNET_gcServer=1 DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0
base=$ours_base

# OpenSSL's responder, as run.sh runs it.
mkdir -p "$work/ossl"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ossl/ca.key" -subj /CN=ossl-ca -days 30 -out "$work/ossl/ca.pem" 2>/dev/null
printf 'V\t301231235959Z\t\t1234\tunknown\t/CN=x\n' >"$work/ossl/index.txt"
openssl ocsp -issuer "$work/ossl/ca.pem" -serial 0x1234 -no_nonce -reqout "$work/ossl/req.der" >/dev/null 2>&1
ossl_port=$(free_port)
openssl ocsp -index "$work/ossl/index.txt" -port "$ossl_port" -rsigner "$work/ossl/ca.pem" -rkey "$work/ossl/ca.key" -CA "$work/ossl/ca.pem" -multi 2 -ignore_err >"$work/ossl/log" 2>&1 &
ossl_pid=$!; pids+=("$ossl_pid"); disown "$ossl_pid"
for _ in $(seq 1 50); do curl -s -o /dev/null --data-binary @"$work/ossl/req.der" -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$ossl_port/" && break; sleep 0.1; done

# CFSSL: a throwaway CA, one leaf, its response signed ahead, served by ocspserve.
cfssl_url=""
if command -v cfssl >/dev/null && command -v cfssljson >/dev/null; then
  mkdir -p "$work/cfssl"; (
    cd "$work/cfssl"
    echo '{"CN":"cfssl-bench-ca","key":{"algo":"ecdsa","size":256}}' | cfssl gencert -initca - 2>/dev/null | cfssljson -bare ca
    echo '{"CN":"leaf","hosts":["leaf"],"key":{"algo":"ecdsa","size":256}}' | cfssl gencert -ca ca.pem -ca-key ca-key.pem - 2>/dev/null | cfssljson -bare leaf
    cfssl ocspsign -ca ca.pem -responder ca.pem -responder-key ca-key.pem -cert leaf.pem 2>/dev/null | jq -r .ocspResponse >responses
    openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout req.der >/dev/null 2>&1)
  cfssl_port=$(free_port)
  cfssl ocspserve -address 127.0.0.1 -port "$cfssl_port" -responses "$work/cfssl/responses" -loglevel 5 >"$work/cfssl/log" 2>&1 &
  cfssl_pid=$!; pids+=("$cfssl_pid"); disown "$cfssl_pid"
  cfssl_url="http://127.0.0.1:$cfssl_port/"
  for _ in $(seq 1 50); do curl -fs -o /dev/null --data-binary @"$work/cfssl/req.der" -H 'Content-Type: application/ocsp-request' "$cfssl_url" && break; sleep 0.1; done
fi

ab_rps() { ab -q -r -n "$requests" -c 16 -p "$1" -T application/ocsp-request "$2" 2>"$work/ab.err" | awk '/Requests per second/ {printf "%d", $4}' || true; [ -s "$work/ab.err" ] && sed "s/^/      ab: /" "$work/ab.err" >&2; true; }
for name in ours before; do  # warm-up (JIT, tiered compilation)
  eval "url_=\$${name}_base"; ab_rps "$work/$name-req.der" "$url_/ocsp" >/dev/null; ab_rps "$work/$name-req.der" "$url_/bench/static" >/dev/null
done

declare -A sum=() runs=()
run() { # name body url; a failed run (OpenSSL's responder sometimes stalls until ab times out) is left out of the mean
  local r; r=$(ab_rps "$2" "$3"); printf '   %-7s %s/s\n' "$1" "${r:-0}"
  [ "${r:-0}" -gt 0 ] || return 0
  sum[$1]=$(( ${sum[$1]:-0} + r )); runs[$1]=$(( ${runs[$1]:-0} + 1 ))
}
order=(ours static before ossl cfssl)
[ -n "$cfssl_url" ] || order=(ours static before ossl)
declare -A body=([ours]="$work/ours-req.der" [static]="$work/ours-req.der" [before]="$work/before-req.der" [ossl]="$work/ossl/req.der" [cfssl]="$work/cfssl/req.der")
declare -A url=([ours]="$base/ocsp" [static]="$base/bench/static" [before]="$before_base/ocsp" [ossl]="http://127.0.0.1:$ossl_port/" [cfssl]="$cfssl_url")
echo "== ab -q -n $requests -c 16 (a new connection per request), ABBA"
for name in "${order[@]}"; do run "$name" "${body[$name]}" "${url[$name]}"; done
for (( i=${#order[@]}-1; i>=0; i-- )); do name=${order[$i]}; run "$name" "${body[$name]}" "${url[$name]}"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
declare -A mean=()
echo "== mean of the runs that completed"
for name in "${order[@]}"; do mean[$name]=$(( ${sum[$name]:-0} / ${runs[$name]:-1} )); printf '   %-7s %d/s (%d runs)\n' "$name" "${mean[$name]}" "${runs[$name]:-0}"; done
echo "   ours/before=$(ratio "${mean[ours]}" "${mean[before]}") before/ossl=$(ratio "${mean[before]}" "${mean[ossl]}")"
[ -z "$cfssl_url" ] || echo "   before/cfssl=$(ratio "${mean[before]}" "${mean[cfssl]}")"
echo "   ours/ossl=$(ratio "${mean[ours]}" "${mean[ossl]}") static/ossl=$(ratio "${mean[static]}" "${mean[ossl]}") ours/static=$(ratio "${mean[ours]}" "${mean[static]}")"
[ -z "$cfssl_url" ] || echo "   ours/cfssl=$(ratio "${mean[ours]}" "${mean[cfssl]}") static/cfssl=$(ratio "${mean[static]}" "${mean[cfssl]}")"

[ "$mode" = profile ] || exit 0
set +e  # a profile that fails for one server must not hide the others
# Per request, under the same ab: syscalls (strace -c -f, which slows every server, so compare counts, not times)
# and context switches (perf stat, no slow-down), whole process tree.
declare -A pid=([ours]="$ours_pid" [static]="$ours_pid" [before]="$before_pid" [ossl]="$ossl_pid")
[ -z "$cfssl_url" ] || pid[cfssl]="$cfssl_pid"
tree() { local p=$1; echo "$p"; for c in $(pgrep -P "$p"); do tree "$c"; done; }
echo "== per request (ab -n $requests -c 16): context switches, cpu-ms, syscalls"
for name in "${order[@]}"; do
  pids_csv=$(tree "${pid[$name]}" | paste -sd,)
  perf stat -e context-switches,cpu-migrations,task-clock -p "$pids_csv" -o "$work/perf-$name" -- \
    ab -q -n "$requests" -c 16 -p "${body[$name]}" -T application/ocsp-request "${url[$name]}" >/dev/null 2>&1
  cs=$(awk '/context-switches/ {gsub(",","",$1); print $1}' "$work/perf-$name")
  ms=$(awk '/task-clock/ {gsub(",","",$1); print $1}' "$work/perf-$name")
  strace_args=(); for p in $(tree "${pid[$name]}"); do strace_args+=(-p "$p"); done  # -p takes every thread of p
  strace -c -f -o "$work/strace-$name" "${strace_args[@]}" 2>/dev/null & spid=$!; sleep 1
  ab -q -n "$requests" -c 16 -p "${body[$name]}" -T application/ocsp-request "${url[$name]}" >/dev/null 2>&1
  kill -INT "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
  calls=$(awk '$NF == "total" {print $4}' "$work/strace-$name")
  printf '   %-7s cs/req=%s cpu_us/req=%s syscalls/req=%s\n' "$name" "$(ratio "$cs" "$requests")" \
    "$(awk -v m="$ms" -v n="$requests" 'BEGIN { printf "%.1f", m * 1000 / n }')" "$(ratio "$calls" "$requests")"
  awk 'NR > 2 && $NF != "total" && $0 !~ /^-/ {print "      " $0}' "$work/strace-$name" | head -12
done
