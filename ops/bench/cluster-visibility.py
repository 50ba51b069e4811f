#!/usr/bin/env python3
"""Cross-node revocation to visibility, for ops/bench/run.sh (issue 11).

Two nodes A and B on one PostgreSQL database. For each of COUNT certificates: enroll it on A (with a token seeded by
enroll-seed), ask B for its OCSP status until B answers good twice (so B's caches hold the good answer), revoke it on
A, then ask B again on an already-open connection until it answers revoked. Prints the milliseconds from the revoke
call returning to the arrival of B's first revoked answer: p50, p99 (nearest rank) and max over COUNT revocations.
The requests are nonce-less (the bytes a gateway sends, answered from B's cache). The first revoked answer of every
tenth certificate is also checked with openssl, after it has arrived (not timed).

    cluster-visibility.py <url-A> <url-B> <api-key> <tokens-file> <bodies-file> <template-request.der> <count>

template-request.der: `openssl ocsp -issuer <issuing CA> -serial 0x1 -no_nonce -reqout ...`; its CertID's hash
algorithm, issuer name hash and issuer key hash are reused, with each certificate's serial.
"""
import http.client
import json
import math
import subprocess
import sys
import time
import urllib.parse

a_url, b_url, api_key, tokens_file, bodies_file, template_file, count = sys.argv[1:8]
count = int(count)
tokens = [line.strip() for line in open(tokens_file) if line.strip()]
bodies = [line.strip() for line in open(bodies_file) if line.strip()]
template = open(template_file, "rb").read()
deadline_seconds = 5


def connect(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def der(tag, body):
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


# CertID ::= SEQUENCE { hashAlgorithm, issuerNameHash OCTET STRING, issuerKeyHash OCTET STRING, serialNumber INTEGER }
# (RFC 6960 4.1.1). With SHA-1 both hashes are 20 octets (04 14 ...); the AlgorithmIdentifier SEQUENCE ends where the
# first of them starts.
name_hash_at = template.index(b"\x04\x14")
algorithm_at = next(j for j in range(name_hash_at - 2, -1, -1) if template[j] == 0x30 and j + 2 + template[j + 1] == name_hash_at)
cert_id_prefix = template[algorithm_at:name_hash_at + 44]


def ocsp_request(serial_hex):
    value = bytes.fromhex(serial_hex if len(serial_hex) % 2 == 0 else "0" + serial_hex).lstrip(b"\x00") or b"\x00"
    if value[0] & 0x80:
        value = b"\x00" + value
    cert_id = der(0x30, cert_id_prefix + der(0x02, value))
    # OCSPRequest { TBSRequest { requestList SEQUENCE OF Request { reqCert CertID } } }
    return der(0x30, der(0x30, der(0x30, der(0x30, cert_id)))), cert_id


def status_of(response, cert_id):
    """The certStatus that follows our CertID in the SingleResponse: [0] good, [1] revoked, [2] unknown."""
    at = response.find(cert_id)
    if at < 0:
        return None
    tag = response[at + len(cert_id)]
    return {0x80: "good", 0xA1: "revoked", 0x82: "unknown"}.get(tag)


def post(connection, path, body, content_type, headers=None):
    connection.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
    answer = connection.getresponse()
    return answer.status, answer.read()


admin = {"Authorization": f"Bearer {api_key}"}
a, b = connect(a_url), connect(b_url)
delays, never, checked = [], 0, 0
for i in range(count):
    body = json.loads(bodies[i % len(bodies)])
    status, answer = post(a, "/api/v1/enroll", json.dumps(body), "application/json", {"Authorization": f"Bearer {tokens[i]}"})
    if status != 201:
        sys.exit(f"enrollment {i} on A answered {status}: {answer[:200]!r}")
    serial = json.loads(answer)["serialNumber"]
    request, cert_id = ocsp_request(serial)
    for _ in range(2):
        status, reply = post(b, "/ocsp", request, "application/ocsp-request")
        if status != 200 or status_of(reply, cert_id) != "good":
            sys.exit(f"B does not answer good for {serial} before the revocation ({status}, {status_of(reply, cert_id)})")

    status, answer = post(a, f"/api/v1/certificates/{serial}/revoke", b'{"reason":"keyCompromise"}', "application/json", admin)
    revoked_at = time.monotonic()
    if status != 200:
        sys.exit(f"revoke on A answered {status}: {answer[:200]!r}")
    while True:
        status, reply = post(b, "/ocsp", request, "application/ocsp-request")
        arrived = time.monotonic()
        if status == 200 and status_of(reply, cert_id) == "revoked":
            delays.append((arrived - revoked_at) * 1000)
            if i % 10 == 0:
                text = subprocess.run(["openssl", "ocsp", "-respin", "/dev/stdin", "-noverify", "-resp_text"],
                                      input=reply, capture_output=True).stdout.decode(errors="replace")
                if "Cert Status: revoked" not in text:
                    sys.exit(f"openssl does not read B's answer for {serial} as revoked:\n{text}")
                checked += 1
            break
        if arrived - revoked_at > deadline_seconds:
            never += 1
            break
    if never >= 3:
        print(f"B did not see {never} revocations within {deadline_seconds} s each: stopped after {i + 1} certificates")
        break

delays.sort()
if delays:
    p50 = delays[math.ceil(0.50 * len(delays)) - 1]
    p99 = delays[math.ceil(0.99 * len(delays)) - 1]
    print(f"{len(delays)} revocations on A seen on B (answers checked with openssl: {checked}), {never} not within {deadline_seconds} s")
    print(f"RESULT cluster_ocsp_p50_ms={p50:.1f}")
    print(f"RESULT cluster_ocsp_p99_ms={p99:.1f}")
    print(f"RESULT cluster_ocsp_max_ms={delays[-1]:.1f}")
print(f"RESULT cluster_ocsp_never={never}")
print(f"RESULT cluster_ocsp_count={len(delays)}")
