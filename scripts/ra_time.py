#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`, guest side: how long a host takes to use a domain a router advertises
(net.ipv6.sitemh_auto=1), on selftests/ra_site.sh's topology. Runs in H's namespace:

    ra_time.py CE_NS RADVD_CONF PIDFILE PREFIX RUNS

Each run starts radvd in CE_NS (the CE's radvd restarts), then waits until the domain
PREFIX is in H's table (/proc/net/sitemh, read every 2 ms), then stops radvd (SIGTERM: its
last RA has router lifetime 0) and waits until the domain is gone. Printed per run:

    ok restart R advert A goodbye G
R: ms from starting radvd to the domain in the table (radvd's start-up included). A: ms
from the RA's arrival at H (the kernel's receive timestamp on a raw ICMPv6 socket) to the
domain in the table: what the module adds. G: ms from SIGTERM to the domain gone.
    failed REASON
a run that measured nothing within 20 s.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

SO_TIMESTAMPNS = 35
ND_ROUTER_ADVERT = 134


def in_table(prefix):
    with open("/proc/net/sitemh") as f:
        return any(line.startswith("ipv6 ") and line.split()[2] == prefix for line in f)


def wait_for(cond, timeout_s=20.0):
    """The CLOCK_REALTIME ns at which cond() first held, or None."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return time.clock_gettime_ns(time.CLOCK_REALTIME)
        time.sleep(0.002)
    return None


def first_advert_ns(sock, after):
    """The kernel's receive time of the first RA queued on sock since after, or None; the
    queue is emptied."""
    first = None
    while True:
        try:
            data, anc, _, _ = sock.recvmsg(2048, 64, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return first
        if not data or data[0] != ND_ROUTER_ADVERT:
            continue
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                at = sec * 1_000_000_000 + nsec
                if at >= after and (first is None or at < first):
                    first = at


def run(ce, conf, pidfile, prefix, sock):
    started = time.clock_gettime_ns(time.CLOCK_REALTIME)
    first_advert_ns(sock, started)
    radvd = subprocess.Popen(["ip", "netns", "exec", ce, "radvd", "-n", "-C", conf, "-p", pidfile,
                              "-m", "stderr"], stderr=subprocess.DEVNULL)
    try:
        learned = wait_for(lambda: in_table(prefix))
        advert = first_advert_ns(sock, started)
        if learned is None:
            return "failed not learned"
        if advert is None:
            return "failed no RA seen"
    finally:
        stop = time.clock_gettime_ns(time.CLOCK_REALTIME)
        radvd.send_signal(signal.SIGTERM)
        radvd.wait()
    gone = wait_for(lambda: not in_table(prefix))
    if gone is None:
        return "failed not removed"
    return "ok restart %.1f advert %.1f goodbye %.1f" % (
        (learned - started) / 1e6, (learned - advert) / 1e6, (gone - stop) / 1e6)


def main():
    ce, conf, pidfile, prefix, runs = sys.argv[1:6]
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    for _ in range(int(runs)):
        print(run(ce, conf, pidfile, prefix, sock), flush=True)
        time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
