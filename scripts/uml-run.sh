#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Run the forward-path benchmark (scripts/bench-forward.sh) in User-Mode Linux: the kernel,
# the module with it, runs as a process at this CPU's native speed, so its figures are
# native nanoseconds per packet (pktgen's own clock is the host's).
#
# usage: uml-run.sh MODULE
# MODULE is the module built for the UML kernel ($SITEMH_CACHE/kernel-uml). The UML guest's
# root is the host's file system (hostfs); its /run, /tmp and /var/run are its own tmpfs,
# so `ip netns` and the benchmark write nothing on the host but the output file.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
ko=${1:?usage: uml-run.sh MODULE}
linux=$SITEMH_CACHE/kernel-uml/linux
[ -x "$linux" ] || die "no UML kernel at $linux: run 'scripts/build-kernel.sh uml'"
# Not under /tmp: the guest mounts its own tmpfs there.
mkdir -p "$SITEMH_CACHE/uml-runs"
out=$(mktemp -d "$SITEMH_CACHE/uml-runs/run.XXXXXX")
# The guest sees the host's files but not its /tmp: the module travels with the run.
cp "$ko" "$out/sitemh.ko" || die "cannot read $ko"
ko=$out/sitemh.ko
cat > "$out/init" <<INIT
#!/bin/bash
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mount -t tmpfs varrun /var/run 2>/dev/null
mkdir -p /run/netns
ln -sfn /proc/self/fd /dev/fd
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export RUNS='${RUNS:-}' PACKETS='${PACKETS:-}' FAMILIES='${FAMILIES:-}' SITEMH_KO='$ko'
export BENCH_CLOCK=native
bash $SITEMH_ROOT/scripts/bench-forward.sh > $out/output 2>&1
echo \$? > $out/status
poweroff -f
INIT
chmod +x "$out/init"
log "booting $linux (User-Mode Linux, native speed); output in $out"
# One CPU, as in the icount guest; 1 GiB of memory.
timeout 1800 "$linux" mem=1G rootfstype=hostfs rootflags=/ rw init="$out/init" \
	> "$out/console" 2>&1 < /dev/null
cat "$out/output" 2>/dev/null
[ "$(cat "$out/status" 2>/dev/null)" = 0 ]
