# SPDX-License-Identifier: GPL-2.0
# Shared settings for the sitemh scripts: where the cache lives and which kernel we build.
# Sourced, not executed.

SITEMH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SITEMH_CACHE=${SITEMH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sitemh}
# The kernel: Debian's newest linux-source-7.N with N >= 3 (scripts/fetch-kernel-source.sh
# chooses it and notes it in $SITEMH_CACHE/kernel-series); KERNEL_SERIES=7.N pins one.
KERNEL_SERIES=${KERNEL_SERIES:-}
# Suites searched for linux-source-7.N.
KERNEL_SUITES=${KERNEL_SUITES:-"trixie-backports sid experimental"}
# The libclang the kernel's bindgen uses (the kernel needs >= 17; bookworm ships 19).
LLVM_VERSION=${LLVM_VERSION:-19}
export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-$LLVM_VERSION/lib}
export PATH="$HOME/.cargo/bin:/usr/lib/llvm-$LLVM_VERSION/bin:$PATH"

log() { printf '[sitemh] %s\n' "$*" >&2; }
die() { printf '[sitemh] error: %s\n' "$*" >&2; exit 1; }
