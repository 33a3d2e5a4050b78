#!/usr/bin/env python3
"""Verifies the DKIM signature of a message with dkimpy, an independent
implementation, answering the DNS lookup with the given public key record.

    dkim_verify.py MESSAGE.eml PUBLIC_KEY_RECORD
Exit 0 when the signature verifies, 1 otherwise (with dkimpy's reason).
"""
import sys, dkim

message = open(sys.argv[1], "rb").read()
# The test server adds an X-Test-Rcpt line first; it is not part of the message.
if message.startswith(b"X-Test-Rcpt:"):
    message = message.split(b"\r\n", 1)[1]
record = open(sys.argv[2], "rb").read().strip()

def dns(name, timeout=5):
    return record

d = dkim.DKIM(message)
ok = d.verify(dnsfunc=dns)
print("verified" if ok else "FAILED", flush=True)
sys.exit(0 if ok else 1)
