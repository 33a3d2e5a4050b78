#!/usr/bin/env python3
"""Verifies every DKIM signature of a message with dkimpy, an independent
implementation, answering the DNS lookups with the given public key records.

    dkim_verify.py MESSAGE.eml PUBLIC_KEY_RECORD
    dkim_verify.py MESSAGE.eml SELECTOR=PUBLIC_KEY_RECORD...
With one plain record file it answers every lookup; with SELECTOR=FILE
pairs, the lookup of SELECTOR._domainkey.… gets that file. Exit 0 when the
message has signatures and each one verifies, 1 otherwise (with dkimpy's reason).
"""
import os, sys, dkim

message = open(sys.argv[1], "rb").read()
# The test server adds an X-Test-Rcpt line first; it is not part of the message.
if message.startswith(b"X-Test-Rcpt:"):
    message = message.split(b"\r\n", 1)[1]
records = {}
for arg in sys.argv[2:]:
    selector, path = arg.split("=", 1) if "=" in arg and not os.path.exists(arg) else ("", arg)
    records[selector.encode()] = open(path, "rb").read().strip()

def dns(name, timeout=5):
    if b"" in records:
        return records[b""]
    return records.get(name.split(b".", 1)[0], b"")

d = dkim.DKIM(message)
count = sum(1 for name, _ in d.headers if name.lower() == b"dkim-signature")
ok = count > 0
for i in range(count):
    good = d.verify(idx=i, dnsfunc=dns)
    print(f"signature {i + 1} of {count}: {'verified' if good else 'FAILED'}", flush=True)
    ok = ok and good
sys.exit(0 if ok else 1)
