#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The module's functions longer than a limit (default 60 lines), longest first.

usage: scripts/long_fns.py [LIMIT]
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "rust"
FN = re.compile(r'^(\s*)(pub(\([a-z]+\))? )?(const )?(unsafe )?(extern "C" )?fn (\w+)')


def functions(path):
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m or lines[i].rstrip().endswith(";"):
            i += 1
            continue
        indent = len(m.group(1))
        j = i
        while j < len(lines) and not lines[j].rstrip().endswith("{"):
            if lines[j].rstrip().endswith((";", "{}")):
                break
            j += 1
        if j < len(lines) and lines[j].rstrip().endswith((";", "{}")):
            i = j + 1
            continue
        k = j + 1
        while k < len(lines) and not (
            lines[k].startswith(" " * indent + "}") and len(lines[k]) - len(lines[k].lstrip()) == indent
        ):
            k += 1
        yield m.group(7), i + 1, k - i + 1
        i = k + 1


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    found = []
    for path in sorted(ROOT.rglob("*.rs")):
        parts = path.relative_to(ROOT).parts
        if any(p in ("host", "fuzz", "target") for p in parts) or path.name == "bindings_generated.rs":
            continue
        for name, line, length in functions(path):
            if length > limit:
                found.append((length, f"{path.relative_to(ROOT.parent)}:{line}", name))
    for length, where, name in sorted(found, reverse=True):
        print(f"{length:5} {where} {name}")


if __name__ == "__main__":
    main()
