#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The largest stack frames of a built module: every function's `sub $N,%rsp` in its
x86-64 disassembly (objdump). Kernel stacks are 16 KiB without KASAN, and the module's
calls nest (a sysctl write publishes a table, a work item learns and publishes), so one
function's frame above the limit is a stack overflow waiting for a deeper caller.

    stack_frames.py MODULE.ko [LIMIT_BYTES] [TOP]

Prints the TOP largest frames; exits 1 if any exceeds LIMIT_BYTES (default 7168).
"""
import re
import subprocess
import sys


def frames(path):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True,
                         text=True, check=True).stdout
    sizes, fn = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            fn = m.group(1)
            continue
        m = re.search(r"sub\s+\$0x([0-9a-f]+),%rsp", line)
        if m and fn:
            sizes[fn] = max(sizes.get(fn, 0), int(m.group(1), 16))
    return sorted(sizes.items(), key=lambda kv: -kv[1])


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 7168
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    found = frames(path)
    for fn, size in found[:top]:
        print(f"{size:6d} {fn}")
    over = [(fn, size) for fn, size in found if size > limit]
    for fn, size in over:
        print(f"over {limit}: {size} {fn}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
