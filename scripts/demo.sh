#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`, guest side: load the module and show a user what it gives them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

say "Load sitemh"
show insmod "$root/sitemh.ko"
dmesg | grep sitemh | tail -n 1

say "Every network namespace gets its own IP-domain configuration (IPCTL_NUM_DOMAINS)"
ip netns add site-a
ip netns add site-b
show ip netns exec site-a sysctl -w net.ipv4.ip_num_domains=2
show ip netns exec site-b sysctl -w net.ipv4.ip_num_domains=3
show ip netns exec site-a sysctl net.ipv4.ip_num_domains net.ipv6.ip_num_domains
show ip netns exec site-b sysctl net.ipv4.ip_num_domains net.ipv6.ip_num_domains

say "The draft allows at most 16 domains: 17 is refused"
show ip netns exec site-a sysctl -w net.ipv4.ip_num_domains=17 || true

say "Unload: the nodes go away"
ip netns del site-a
ip netns del site-b
show rmmod sitemh
show ls /proc/sys/net/ipv4/ | grep -c ip_num_domains || true
