#!/usr/bin/env python3
"""Draws the podcast's artwork (media/podcast-cover.png), once.

Apple Podcasts wants square RGB artwork of 1400 to 3000 px: this is 1400x1400,
flat colours only (a red sun over cold blue water, "TWIA" in block letters),
so it compresses to a few KB. Pure Python, no dependencies:
python3 scripts/make-podcast-cover.py [out.png]
"""
import math, struct, sys, zlib

N = 1400
NIGHT, SUN, WATER, DEEP, FOAM, INK = (18, 24, 48), (214, 52, 44), (38, 140, 214), (24, 92, 168), (228, 240, 255), (250, 246, 236)

# 5x7 block letters, one string per row.
FONT = {
    "T": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."],
    "W": ["#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#"],
    "I": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "#####"],
    "A": [".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"],
}
WORD, CELL, GAP = "TWIA", 40, 40
word_w = len(WORD) * 5 * CELL + (len(WORD) - 1) * GAP
left, top = (N - word_w) // 2, 1040


def letter_pixel(x, y):
    if not (top <= y < top + 7 * CELL and left <= x < left + word_w):
        return False
    i, rest = divmod(x - left, 5 * CELL + GAP)
    if rest >= 5 * CELL:
        return False
    return FONT[WORD[i]][(y - top) // CELL][rest // CELL] == "#"


rows = []
for y in range(N):
    row = bytearray([0])
    for x in range(N):
        c = NIGHT
        if math.hypot(x - 700, y - 560) < 300 and y < 700:
            c = SUN
        if y >= 700:
            band = int(20 * math.sin(x / 70.0))
            c = FOAM if y < 712 + band // 4 else (WATER if y < 880 + band else DEEP)
        if letter_pixel(x, y):
            c = INK
        row += bytes(c)
    rows.append(bytes(row))


def chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
out = sys.argv[1] if len(sys.argv) > 1 else "media/podcast-cover.png"
open(out, "wb").write(png)
print(out, len(png), "bytes")
