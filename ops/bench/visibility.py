#!/usr/bin/env python3
"""Revocation to visibility, for ops/bench/run.sh.

Revokes a certificate through the admin API, then asks /ocsp and /pki/crl until each says so, over kept-alive
HTTP connections so that no process start is counted. Prints the milliseconds from the revoke call returning to
the arrival of the first OCSP answer saying revoked and of the first CRL listing the serial. Each answer is
checked with openssl after it has arrived; only if it does not yet show the revocation is another one fetched.

    visibility.py <base-url> <api-key> <serial-hex> <ocsp-request.der>
"""
import http.client
import subprocess
import sys
import time
import urllib.parse

base, api_key, serial, request_file = sys.argv[1:5]
url = urllib.parse.urlsplit(base)
request = open(request_file, "rb").read()
deadline_seconds = 10


def connect():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=10)


def ocsp_says_revoked(der):
    text = subprocess.run(["openssl", "ocsp", "-respin", "/dev/stdin", "-noverify", "-resp_text"],
                          input=der, capture_output=True).stdout.decode(errors="replace")
    return "Cert Status: revoked" in text


def crl_lists(der):
    text = subprocess.run(["openssl", "crl", "-inform", "DER", "-noout", "-text"],
                          input=der, capture_output=True).stdout.decode(errors="replace")
    compact = text.replace(" ", "").replace(":", "").upper()
    return ("SERIALNUMBER" + serial.upper()) in compact


ocsp_connection, crl_connection, admin = connect(), connect(), connect()
# Open the connections before the clock starts.
for connection in (ocsp_connection, crl_connection):
    connection.request("GET", "/health/live")
    connection.getresponse().read()

admin.request("POST", f"/api/v1/certificates/{serial}/revoke", body=b'{"reason":"keyCompromise"}',
              headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"})
answer = admin.getresponse()
answer.read()
revoked_at = time.monotonic()
if answer.status != 200:
    sys.exit(f"revoke answered {answer.status}")


def first_arrival(fetch, shows_revocation):
    while time.monotonic() - revoked_at < deadline_seconds:
        body = fetch()
        arrived = time.monotonic()
        if shows_revocation(body):
            return round((arrived - revoked_at) * 1000)
        time.sleep(0.01)
    return None


def fetch_ocsp():
    ocsp_connection.request("POST", "/ocsp", body=request, headers={"Content-Type": "application/ocsp-request"})
    return ocsp_connection.getresponse().read()


def fetch_crl():
    crl_connection.request("GET", "/pki/crl")
    return crl_connection.getresponse().read()


# The first OCSP and CRL requests go out back to back, before either answer is checked (openssl takes tens of ms).
ocsp_first, ocsp_first_at = fetch_ocsp(), time.monotonic()
crl_first, crl_first_at = fetch_crl(), time.monotonic()
ocsp_ms = round((ocsp_first_at - revoked_at) * 1000) if ocsp_says_revoked(ocsp_first) else first_arrival(fetch_ocsp, ocsp_says_revoked)
crl_ms = round((crl_first_at - revoked_at) * 1000) if crl_lists(crl_first) else first_arrival(fetch_crl, crl_lists)
print(f"RESULT ocsp_ms={ocsp_ms if ocsp_ms is not None else 'never'}")
print(f"RESULT crl_ms={crl_ms if crl_ms is not None else 'never'}")
