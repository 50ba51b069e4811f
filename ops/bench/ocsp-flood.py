#!/usr/bin/env python3
"""Floods /ocsp with distinct padded OCSP requests and reports the service's working set before and after.

    ocsp-flood.py <base url> <service pid> <request.der> [count] [padding octets] [mode] [connections]

request.der is a nonce-less request for one certificate the service issued (openssl ocsp -no_nonce -reqout).
Every request sent is distinct: the CertID of request.der (mode "known"), or the same CertID with a random
serial (mode "unknown"), or both in turn (mode "mixed", the default), plus a non-critical extension with an OID
no OCSP responder knows, whose value is <padding> octets (default 65,000, so the DER stays under the 64 KiB
limit) starting with the request's number. Prints key=value lines: rss_before_mb, rss_after_mb (right after the
flood), rss_settled_mb (5 s later), hwm_mb, rate, and the count of each OCSP response status.
"""
import http.client
import os
import sys
import threading
import time
import urllib.parse

UNKNOWN_EXTENSION_OID = bytes.fromhex("060b2b0601040181fd59010101")  # 1.3.6.1.4.1.32473.1.1.1 (IANA example arc)


def tlv(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + content


def read_tlv(der, offset):
    """(tag, content start, end) of the TLV at offset (definite lengths only)."""
    tag = der[offset]
    first = der[offset + 1]
    if first < 0x80:
        return tag, offset + 2, offset + 2 + first
    count = first & 0x7F
    length = int.from_bytes(der[offset + 2:offset + 2 + count], "big")
    start = offset + 2 + count
    return tag, start, start + length


def children(der, start, end):
    out = []
    while start < end:
        tag, content, stop = read_tlv(der, start)
        out.append(der[start:stop])
        start = stop
    return out


def cert_id_parts(request):
    """AlgorithmIdentifier, issuerNameHash, issuerKeyHash (encoded) of the first CertID of an OCSPRequest."""
    _, s, e = read_tlv(request, 0)           # OCSPRequest
    _, s, e = read_tlv(request, s)           # TBSRequest
    tag, s2, e2 = read_tlv(request, s)       # requestList (no version or requestorName in openssl's requests)
    _, s3, e3 = read_tlv(request, s2)        # Request
    _, s4, e4 = read_tlv(request, s3)        # CertID
    parts = children(request, s4, e4)
    return parts[0], parts[1], parts[2], parts[3]


def build(algorithm, name_hash, key_hash, serial, number, padding):
    cert_id = tlv(0x30, algorithm + name_hash + key_hash + serial)
    request_list = tlv(0x30, tlv(0x30, cert_id))
    value = number.to_bytes(8, "big") + os.urandom(16) + bytes(max(0, padding - 24))
    extension = tlv(0x30, UNKNOWN_EXTENSION_OID + tlv(0x04, tlv(0x04, value)))
    extensions = tlv(0xA2, tlv(0x30, extension))      # [2] EXPLICIT Extensions
    return tlv(0x30, tlv(0x30, request_list + extensions))


def rss_mb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    return -1


def main():
    base, pid, request_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 16000
    padding = int(sys.argv[5]) if len(sys.argv) > 5 else 65000
    mode = sys.argv[6] if len(sys.argv) > 6 else "mixed"
    connections = int(sys.argv[7]) if len(sys.argv) > 7 else 4
    with open(request_path, "rb") as f:
        algorithm, name_hash, key_hash, serial = cert_id_parts(f.read())
    url = urllib.parse.urlsplit(base)
    statuses = {}
    lock = threading.Lock()
    next_number = [0]

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        while True:
            with lock:
                number = next_number[0]
                next_number[0] += 1
            if number >= count:
                break
            known = mode == "known" or (mode == "mixed" and number % 2 == 0)
            this_serial = serial if known else tlv(0x02, b"\x7f" + os.urandom(15))
            body = build(algorithm, name_hash, key_hash, this_serial, number, padding)
            conn.request("POST", "/ocsp", body, {"Content-Type": "application/ocsp-request"})
            response = conn.getresponse()
            answer = response.read()
            key = f"http_{response.status}"
            if response.status == 200 and len(answer) > 4:
                _, s, _ = read_tlv(answer, 0)
                key = f"ocsp_status_{answer[s + 2]}"  # OCSPResponseStatus ENUMERATED (0 = successful)
            with lock:
                statuses[key] = statuses.get(key, 0) + 1
        conn.close()

    before = rss_mb(pid)
    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    after = rss_mb(pid)
    time.sleep(5)
    settled = rss_mb(pid)
    print(f"requests={count}")
    print(f"request_octets={len(build(algorithm, name_hash, key_hash, serial, 0, padding))}")
    print(f"rate={count / elapsed:.0f}")
    print(f"rss_before_mb={before}")
    print(f"rss_after_mb={after}")
    print(f"rss_settled_mb={settled}")
    print(f"hwm_mb={rss_mb(pid, 'VmHWM')}")
    for key in sorted(statuses):
        print(f"{key}={statuses[key]}")


if __name__ == "__main__":
    main()
