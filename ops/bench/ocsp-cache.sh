#!/usr/bin/env bash
# OCSP cache: cached-OCSP throughput and the working set under a flood of padded requests, for one or more builds of
# the service side by side (e.g. main and a branch), in one session so the machine's drift hits them alike.
#
#   ops/bench/ocsp-cache.sh <PkiService.Api.dll> [<PkiService.Api.dll> ...]
#   ROUNDS=3 SECONDS_PER_RUN=10 COUNT=16000 PADDING=65000 MODE=mixed ops/bench/ocsp-cache.sh old.dll new.dll
#
# Each dll is started in Release as built (dotnet <dll>) on loopback with its own temporary data directory and a
# public rate limit high enough not to interfere. Then:
#   1. wrk -t2 -c32 -d${SECONDS_PER_RUN}s posting one fixed nonce-less request (the cached path), ROUNDS rounds,
#      alternating between the services;
#   2. ops/bench/ocsp-flood.py against each in turn: COUNT distinct requests padded with an unknown extension to
#      about 64 KiB (known serial and random serials, MODE), with VmRSS before and after;
#   3. ROUNDS_AFTER (default 2) more wrk rounds, to show the cached path after the flood.
# Rounds alternate the order (ABBA). COUNT=0 measures throughput only.
# Needs wrk, openssl, curl, jq, python3. Stops everything it started.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,16p "$0"; exit 2; }
rounds="${ROUNDS:-3}"; seconds="${SECONDS_PER_RUN:-10}"; count="${COUNT:-16000}"; padding="${PADDING:-65000}"; mode="${MODE:-mixed}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/pki-ocsp-cache.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

bases=(); spids=()
for i in $(seq 1 $#); do
  dll="$(realpath "${!i}")"; dir="$work/s$i"; mkdir -p "$dir"
  port=$(free_port); base="http://127.0.0.1:$port"; key="pki_ak_bench_$(openssl rand -hex 16)"
  # Started from the dll's directory so its appsettings.json applies (as the systemd unit does).
  (cd "$(dirname "$dll")" && exec dotnet "$dll" --urls "$base" --Pki:DataDirectory="$dir/data" --Pki:PublicBaseUrl="$base" \
    --Pki:KeyPassphrase=bench --Admin:BootstrapApiKey="$key" --Pki:MtlsUrl= \
    --RateLimits:PublicPerSecond=100000000 --RateLimits:EnrollmentPerMinute=100000000 \
    --Logging:LogLevel:Default=Warning) >"$dir/service.log" 2>&1 &
  pid=$!; pids+=("$pid"); disown "$pid"
  for _ in $(seq 1 240); do curl -fs "$base/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fs "$base/health/ready" >/dev/null || { cat "$dir/service.log"; exit 1; }
  token=$(curl -fs -X POST "$base/api/v1/enrollment-tokens" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d '{"commonName":"bench-ocsp"}' | jq -r .token)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/client.key" -subj /CN=bench-ocsp -out "$dir/client.csr" 2>/dev/null
  jq -n --rawfile csr "$dir/client.csr" '{csr: $csr}' | curl -fs -X POST "$base/api/v1/enroll" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d @- | jq -r .certificate >"$dir/client.pem"
  curl -fs "$base/pki/ca.pem" >"$dir/ca.pem"
  openssl ocsp -issuer "$dir/ca.pem" -cert "$dir/client.pem" -no_nonce -reqout "$dir/req.der" >/dev/null 2>&1
  cat >"$dir/post.lua" <<LUA
local f = io.open("$dir/req.der", "rb"); wrk.body = f:read("*all"); f:close()
wrk.method = "POST"; wrk.headers["Content-Type"] = "application/ocsp-request"
LUA
  bases+=("$base"); spids+=("$pid")
  echo "service $i: ${!i} on $base (pid $pid)"
done

rps() { # service index (0-based), duration
  local out; out=$(wrk -t2 -c32 -d"$2" -s "$work/s$(( $1 + 1 ))/post.lua" "${bases[$1]}/ocsp" 2>&1)
  echo "$out" | grep -q 'Non-2xx' && echo "   warning: non-2xx answers from service $(( $1 + 1 ))" >&2
  echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}'
}

echo "== warm-up (JIT, tiered compilation)"
for i in "${!bases[@]}"; do rps "$i" 3s >/dev/null; done
order=("${!bases[@]}")
rounds_of() { # label, number of rounds
  for r in $(seq 1 "$2"); do
    # Every other round in reverse order (ABBA), so a drift of the machine's speed does not favour one service.
    if (( r % 2 == 0 )); then mapfile -t run < <(printf '%s\n' "${order[@]}" | sort -rn); else run=("${order[@]}"); fi
    declare -A got=()
    for i in "${run[@]}"; do got[$i]=$(rps "$i" "${seconds}s"); done
    line="$1 round $r:"
    for i in "${order[@]}"; do line="$line service$(( i + 1 ))=${got[$i]}/s"; done
    echo "$line"
  done
}
echo "== cached OCSP POST, wrk -t2 -c32 -d${seconds}s, $rounds rounds alternating"
rounds_of before "$rounds"
[ "$count" -gt 0 ] || exit 0
echo "== flood: $count distinct requests, ${padding}-octet unknown extension, mode $mode"
for i in "${!bases[@]}"; do
  echo "-- service $(( i + 1 ))"
  python3 "$here/ocsp-flood.py" "${bases[$i]}" "${spids[$i]}" "$work/s$(( i + 1 ))/req.der" "$count" "$padding" "$mode" | sed 's/^/   /'
done
echo "== cached OCSP POST after the flood, ${ROUNDS_AFTER:-2} rounds alternating"
rounds_of after "${ROUNDS_AFTER:-2}"
