#!/usr/bin/env python3
"""EST request material for ops/bench/est-enroll.lua, from what `PkiService.Benchmarks enroll-seed` wrote for REST.

  est-prepare.py auth <tokens-file> <authorization-file>   one "Basic base64(bench:<token>)" per token (RFC 7617)
  est-prepare.py csrs <bodies-file> <csrs-file>             each JSON body's PEM CSR as one line of base64 DER
  est-prepare.py serials <answers-dir> <serials-dir>        the serial of the one certificate in each 200 answer
                                                            (into <serials-dir>/<answers-dir name>-serials-<thread>)

The serials are written as the service stores them (upper-case hex of the unsigned big-endian value), so
`PkiService.Benchmarks enroll-check` can look each one up; an answer that is not a certs-only SignedData with exactly
one certificate is written as "unparsed" (which enroll-check counts as not committed).
"""
import base64
import json
import os
import sys


def tlv(data, offset):
    """(tag, content start, content end) of the DER element at offset."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    return tag, offset, offset + length


def children(data, start, end):
    while start < end:
        tag, content, after = tlv(data, start)
        yield tag, content, after
        start = after


def serial_of(answer):
    """RFC 5652: ContentInfo { contentType, [0] SignedData { version, digestAlgorithms, encapContentInfo,
    [0] IMPLICIT certificates, ... } }; RFC 5280: Certificate { TBSCertificate { [0] version, serialNumber, ... } }."""
    der = base64.b64decode(answer, validate=True)
    _, content, end = tlv(der, 0)
    info = list(children(der, content, end))
    _, content, end = info[1]                                  # [0] EXPLICIT
    _, content, end = tlv(der, content)                        # SignedData
    certificates = [c for c in children(der, content, end) if c[0] == 0xA0]
    assert len(certificates) == 1, "no certificates field"
    certs = list(children(der, certificates[0][1], certificates[0][2]))
    assert len(certs) == 1, f"{len(certs)} certificates, expected 1"
    _, content, end = certs[0]                                 # Certificate
    _, content, end = tlv(der, content)                        # TBSCertificate
    fields = list(children(der, content, end))
    tag, content, end = fields[1] if fields[0][0] == 0xA0 else fields[0]
    assert tag == 0x02, "no serialNumber"
    value = int.from_bytes(der[content:end], "big", signed=True)
    text = format(value, "X")
    return "0" + text if len(text) % 2 else text


def main(command, source, target):
    if command == "auth":
        with open(source) as tokens, open(target, "w") as out:
            for token in tokens:
                out.write("Basic " + base64.b64encode(("bench:" + token.strip()).encode()).decode() + "\n")
    elif command == "csrs":
        with open(source) as bodies, open(target, "w") as out:
            for body in bodies:
                pem = json.loads(body)["csr"]
                out.write("".join(line for line in pem.splitlines() if line and not line.startswith("-----")) + "\n")
    elif command == "serials":
        os.makedirs(target, exist_ok=True)
        for name in sorted(os.listdir(source)):
            # <window>-serials-<thread>: the answers of several windows can go into one serials directory.
            serials = os.path.basename(os.path.normpath(source)) + "-" + name.replace("answers", "serials")
            with open(os.path.join(source, name)) as answers, open(os.path.join(target, serials), "w") as out:
                for answer in answers:
                    answer = answer.strip()
                    if not answer:
                        continue
                    try:
                        out.write(serial_of(answer) + "\n")
                    except Exception as error:  # noqa: BLE001 - any malformed answer counts as not committed
                        print(f"unparsed answer: {error}", file=sys.stderr)
                        out.write("unparsed\n")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
