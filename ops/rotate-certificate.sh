#!/usr/bin/env bash
# Rotates a client certificate issued by PkiService, authenticated by the certificate itself over mTLS.
#
#   ops/rotate-certificate.sh CERT KEY CHAIN [URL]
#
#   CERT   current certificate (PEM); replaced by the new one
#   KEY    its private key (PEM); replaced by a new key of the same type
#   CHAIN  PkiService's chain.pem (issuing CA + root), trust anchor for the mTLS listener
#   URL    renew endpoint, default https://127.0.0.1:5443/api/v1/renew
#   VALIDITY (environment, optional) ISO 8601 duration, e.g. P90D; default: the profile's
#
# A new key and a CSR with the same subject and SANs are made, POSTed to /api/v1/renew with the current
# certificate as client certificate, and the new certificate and key replace CERT and KEY atomically
# (written next to them, then renamed; the key stays mode 0600). On any failure nothing is replaced and the
# script exits non-zero with the server's problem+json on stderr. Needs openssl (1.1.1+), curl and jq.
set -euo pipefail

usage() { echo "usage: $0 CERT KEY CHAIN [URL]" >&2; exit 2; }
[ $# -ge 3 ] && [ $# -le 4 ] || usage
cert=$1 key=$2 chain=$3 url=${4:-https://127.0.0.1:5443/api/v1/renew}
for f in "$cert" "$key" "$chain"; do [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }; done
for tool in openssl curl jq; do command -v "$tool" >/dev/null || { echo "$0: $tool is required" >&2; exit 2; }; done

work=$(mktemp -d "$(dirname "$cert")/.rotate.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077

# Same subject CN and SANs as the current certificate (a renewal keeps the names).
cn=$(openssl x509 -in "$cert" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p' | head -n1)
[ -n "$cn" ] || { echo "$0: $cert has no CN" >&2; exit 1; }
sans=$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ' | sed 's/IPAddress:/IP:/g' || true)

# A new key of the same kind as the current one (never the current key: a renewal is a key rotation).
keytext=$(openssl pkey -in "$key" -noout -text)
curve=$(sed -n 's/^NIST CURVE: *//p' <<<"$keytext")
if grep -q '^ED25519' <<<"$keytext"; then
  openssl genpkey -algorithm ED25519 -out "$work/new.key" 2>/dev/null
elif [ -n "$curve" ]; then
  openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$work/new.key" 2>/dev/null
elif grep -q '^modulus' <<<"$keytext"; then
  bits=$(sed -n '1s/.*(\([0-9]*\) bit.*/\1/p' <<<"$keytext")
  openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${bits:-2048}" -out "$work/new.key" 2>/dev/null
else
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/new.key" 2>/dev/null
fi

req=(openssl req -new -key "$work/new.key" -subj "/CN=$cn" -out "$work/new.csr")
[ -n "$sans" ] && req+=(-addext "subjectAltName=$sans")
"${req[@]}"

jq -n --rawfile csr "$work/new.csr" --arg validity "${VALIDITY:-}" \
  '{csr: $csr} + (if $validity == "" then {} else {validity: $validity} end)' > "$work/body.json"
status=$(curl --silent --show-error --max-time 30 \
  --cert "$cert" --key "$key" --cacert "$chain" \
  -H 'Content-Type: application/json' --data @"$work/body.json" \
  --output "$work/answer.json" --write-out '%{http_code}' "$url") || { echo "$0: request to $url failed" >&2; exit 1; }
if [ "$status" != 201 ]; then
  echo "$0: renewal refused with HTTP $status:" >&2; cat "$work/answer.json" >&2; echo >&2; exit 1
fi
jq -er .certificate "$work/answer.json" > "$work/new.pem"

# The new certificate must carry the new key and verify against the chain before anything is replaced.
[ "$(openssl x509 -in "$work/new.pem" -noout -pubkey)" = "$(openssl pkey -in "$work/new.key" -pubout)" ] \
  || { echo "$0: the answer does not certify the new key" >&2; exit 1; }
openssl verify -CAfile "$chain" "$work/new.pem" >/dev/null || { echo "$0: the new certificate does not verify against $chain" >&2; exit 1; }

# Key first: until the certificate is renamed too, CERT and KEY do not match, so keep that window one rename wide.
chmod 600 "$work/new.key"
mv -f "$work/new.key" "$key"
mv -f "$work/new.pem" "$cert"
echo "renewed: serial $(jq -r .serialNumber "$work/answer.json"), valid until $(jq -r .notAfter "$work/answer.json")"
