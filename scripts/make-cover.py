#!/usr/bin/env python3
"""Draws the reference issue's hero image (media/009-cover.png), once.

An abstract stand-in for the DALL-E 3 picture credited in issue 9: a red
sun ("China's AI dreams") under a wave of cold blue water. Pure Python, no
dependencies, so anyone can regenerate it: python3 scripts/make-cover.py
"""
import math, struct, zlib, sys

W, H = 1200, 630
rows = []
for y in range(H):
    row = bytearray([0])
    for x in range(W):
        # night-sky gradient
        t = y / H
        r, g, b = int(18 + 30 * t), int(22 + 40 * t), int(40 + 70 * t)
        # red sun
        d = math.hypot(x - 600, y - 300)
        if d < 170:
            k = 1 - d / 170
            r, g, b = 200 + int(40 * k), 40 + int(30 * k), 40
        elif d < 200:
            k = (200 - d) / 30
            r, g, b = int(r + (200 - r) * k * 0.4), int(g + (60 - g) * k * 0.4), int(b + (50 - b) * k * 0.4)
        # cold water falling from the top right, then a wave across the bottom
        wave = 430 + 28 * math.sin(x / 55.0) + 12 * math.sin(x / 17.0 + 1.3)
        stream = abs(x - (760 + 0.35 * (y - 0))) < 26 + 10 * math.sin(y / 23.0) and y < wave
        if y > wave or stream:
            depth = max(0.0, (y - wave) / (H - wave)) if y > wave else 0.2
            r, g, b = int(40 - 20 * depth), int(150 - 60 * depth), int(220 - 40 * depth)
            if y > wave and (y - wave) < 5:
                r, g, b = 220, 240, 255
        row += bytes((r, g, b))
    rows.append(bytes(row))

def chunk(tag, data):
    c = tag + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
out = sys.argv[1] if len(sys.argv) > 1 else "media/009-cover.png"
open(out, "wb").write(png)
print(out, len(png), "bytes")
