#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The import edges among the module crate's top-level modules, and the rule they keep.

usage: scripts/deps.py [--check]

Prints one line per edge `from -> to` (a `crate::to` path anywhere in `from`'s files).
With --check, exits 1 and says why if an edge breaks the layering:
  - leaves (logic, ffi, family, hook_user, params) name no feature and no composition;
    logic names nothing but itself (it is pure, and compiled on the host too);
  - features (domains, home, select, linkfail, switchover) name no composition module,
    and no feature named after them in FEATURES (dependencies point one way);
  - nothing names the crate root's composition (netns, sockopts) but the root.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "rust"
LEAVES = ["logic", "ffi", "family", "hook_user", "params"]
# In dependency order: each may name only those before it.
FEATURES = ["domains", "home", "select", "linkfail", "switchover"]
COMPOSITION = ["netns", "sockopts", "kunit", "sitemh_main"]
# Names the `module!` macro defines at the crate root (the parameters' storage).
ROOT_ITEMS = {"module_parameters"}


def module_of(path):
    rel = path.relative_to(ROOT)
    name = rel.parts[0]
    return name[:-3] if name.endswith(".rs") else name


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def named(text):
    """The top-level names a file's `crate::` paths start with."""
    names = set()
    for m in re.finditer(r"\bcrate::", text):
        rest = text[m.end():].lstrip()
        if rest.startswith("{"):
            depth, token, expect = 0, "", True
            for c in rest:
                if c == "{":
                    depth += 1
                    if depth == 1:
                        expect = True
                        continue
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                if depth == 1:
                    if expect and (c.isalnum() or c == "_"):
                        token += c
                        continue
                    if token:
                        names.add(token)
                        token = ""
                    expect = c == "," or (expect and c.isspace())
            if token:
                names.add(token)
        else:
            ident = re.match(r"[A-Za-z_][A-Za-z0-9_]*", rest)
            if ident:
                names.add(ident.group(0))
    return names


def edges():
    found = set()
    for path in sorted(ROOT.rglob("*.rs")):
        if any(p in ("host", "fuzz", "target") for p in path.relative_to(ROOT).parts):
            continue
        if path.name == "bindings_generated.rs":
            continue
        src = module_of(path)
        for dst in named(strip_comments(path.read_text())):
            if dst != src:
                found.add((src, dst))
    return sorted(found)


def broken(all_edges):
    why = []
    for src, dst in all_edges:
        if dst in ROOT_ITEMS:
            continue
        if src == "logic":
            why.append(f"{src} -> {dst}: the pure logic names nothing outside itself")
        elif src in LEAVES and dst not in LEAVES:
            why.append(f"{src} -> {dst}: a leaf names a feature or the composition")
        elif src in FEATURES and dst in COMPOSITION:
            why.append(f"{src} -> {dst}: a feature names the composition")
        elif src in FEATURES and dst in FEATURES and FEATURES.index(dst) > FEATURES.index(src):
            why.append(f"{src} -> {dst}: against the features' order {FEATURES}")
        elif dst not in LEAVES + FEATURES + COMPOSITION:
            why.append(f"{src} -> {dst}: a module the layering does not know")
    return why


def main():
    all_edges = edges()
    for src, dst in all_edges:
        print(f"{src} -> {dst}")
    if "--check" in sys.argv[1:]:
        why = broken(all_edges)
        for line in why:
            print(f"deps: {line}", file=sys.stderr)
        return 1 if why else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
