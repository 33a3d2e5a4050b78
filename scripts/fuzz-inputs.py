#!/usr/bin/env python3
"""Mutates issues/009.toml and a subscriber CSV at random and runs `publish`
on each mutant: it must never panic or exit with anything but 0 or 1, and
every error `check` prints must name its file, line and column.

    cargo build --release && python3 scripts/fuzz-inputs.py [COUNT=300] [SEED=7]

Bounded: COUNT mutants of each kind, 30 s per command, in a temp workspace.
"""
import random, re, shutil, subprocess, sys, tempfile
from pathlib import Path

repo = Path(__file__).resolve().parent.parent
binary = repo / "target/release/publish"
count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)

TOML_JUNK = ['"', '"""', "'''", "[", "]", "[[sections]]", "=", "\\", "\\u", "\t", "{", "}", "#",
             "<script>", "\ufeff", "\u202e", "𝔘", "\U0001F600", "date = 2024-13-45",
             'url = "javascript:alert(1)"', 'url = "ftp://x"', 'title = ""', "take = 5",
             "[[sections.recommendations]]", 'sponsor = "nobody"', 'send_at = "tomorrow"',
             'image.src = "nope.png"', 'authors = "x"', "\\u0007"]
CSV_JUNK = [b'"', b",", b";", b"\t", b"\r", b"\n", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"@",
            b"<", b">", b"mailto:", b"sep=;\n", b"\xe9", b"\xc3", b"a" * 5000]
LOCATED = re.compile(r"^[\w./-]+:\d+:\d+: error:")


def run(ws, *args):
    r = subprocess.run([str(binary), "--workspace", str(ws), *args], capture_output=True, timeout=30)
    return r.returncode, r.stderr.decode("utf-8", "replace")


def mutate_lines(lines):
    lines = list(lines)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = [""]
        j = rng.randrange(len(lines))
        op = rng.random()
        if op < 0.3:
            del lines[j]
        elif op < 0.6:
            lines.insert(j, rng.choice(TOML_JUNK))
        elif op < 0.9:
            k = rng.randrange(len(lines[j]) + 1)
            lines[j] = lines[j][:k] + rng.choice(TOML_JUNK) + lines[j][k:]
        else:
            lines = lines[:j]
    return "\n".join(lines)


def main():
    if not binary.exists():
        sys.exit("build first: cargo build --release")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        for name in ("publish.toml", "sponsors.toml", "issues", "templates", "media"):
            src = repo / name
            (shutil.copytree if src.is_dir() else shutil.copy)(src, ws / name)
        base = (repo / "issues/009.toml").read_text(encoding="utf-8").split("\n")
        for i in range(count):
            text = mutate_lines(base)
            (ws / "issues/009.toml").write_text(text, encoding="utf-8")
            for args in (["check", "9"], ["build", "9"]):
                code, err = run(ws, *args)
                unlocated = [l for l in err.splitlines()
                             if ": error:" in l and not LOCATED.match(l)]
                if code not in (0, 1) or "panicked" in err or (args[0] == "check" and unlocated):
                    failures.append((f"issue mutant {i}", args, code, err[-500:], text))
                    break
        csv = b'email,name,company\r\njane@example.com,"Jane, D",Acme\r\nli@example.com,\xe6\x9d\x8e,X\r\n'
        for i in range(count):
            data = bytearray(csv)
            for _ in range(rng.randint(1, 5)):
                k = rng.randrange(len(data) + 1)
                if rng.random() < 0.3:
                    del data[k:k + rng.randint(1, 5)]
                else:
                    data[k:k] = rng.choice(CSV_JUNK)
            (ws / "list.csv").write_bytes(bytes(data))
            code, err = run(ws, "subscribers", "import", str(ws / "list.csv"))
            if code not in (0, 1) or "panicked" in err:
                failures.append((f"csv mutant {i}", ["subscribers", "import"], code, err[-500:], bytes(data)))
    for name, args, code, err, text in failures[:5]:
        print(f"FAIL {name}: publish {' '.join(args)} exited {code}\n{err}\n--- input ---\n{text!r:.2000}\n")
    print(f"{count} issue mutants, {count} CSV mutants: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
