#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`, guest side: one switchover time on the multihomed-site topology of
selftests/sitemh_switchover.sh (H - CE1/CE2 - PE1/PE2 - X).

    switchover_time.py TLS_TOOL H_NS X_NS FAIL_NS FAIL_IF MODE [CE_NS]

A TLS transfer runs from H (198.51.100.140, provider 1) to X; then provider 1's path
fails: interface FAIL_IF of namespace FAIL_NS goes down (PE1's end of the CE1-PE1 link:
CE1 sees carrier loss; CE1's LAN interface: CE1 is gone for the site). Printed: "ms T", the time from the failure to the first
TCP segment carrying data that X receives from H's provider-2 address
(203.0.113.140), i.e. over the new pair; "ms timeout" if none came within 10 s. In
sitemh mode the line goes on with "request R": when H's first SET_ALT_ROUTE reached X
(what the notice and H took; the rest is X, the answer and TCP resuming).

With CE_NS (a CE whose uplink the failure takes down: the carrier case), the time counts
from the moment that CE saw its uplink fail (the module's "uplink_failed_ns", wall
clock), the draft's "link going down at the CE": taking the PE's end of a veth down
stops the CE's carrier only after the PE's own teardown (an RCU grace period, 25-45 ms
under TCG), which is the PE's time, not the site's. "ioctl T2" is the time from the
ioctl, for reference. The module must be loaded with that CE's uplink configured in
both modes; in MPTCP mode the hosts have no sitemh configuration.

MODE "sitemh": both ends pass their TLS session and routes to the module.
MODE "mptcp": no module options; the sockets are MPTCP (the caller set a backup subflow
per provider up, as mptcp_join.sh's link_failure tests do).

The failure is one ioctl issued here, right after the clock is read; arrival times are
the kernel's receive timestamps (SO_TIMESTAMPNS) on X's provider-2 interface, so neither
process start-up nor scheduling of this script is counted.
"""
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

H1, H2, X1, X2 = "198.51.100.140", "203.0.113.140", "192.0.2.10", "192.0.2.14"
PORT = 4433
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
ETH_P_IP = 0x0800
SO_TIMESTAMPNS = 35
WAIT_S = 10

libc = ctypes.CDLL(None, use_errno=True)


def socket_in(ns, *args):
    """A socket of namespace NS (the thread goes back to its own afterwards)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        with open(f"/run/netns/{ns}") as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
        return socket.socket(*args)
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)


def set_down(ctl, ifname):
    req = struct.pack("16sH14x", ifname.encode(), 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(ctl, SIOCGIFFLAGS, req))[1]
    fcntl.ioctl(ctl, SIOCSIFFLAGS, struct.pack("16sH14x", ifname.encode(), flags & ~IFF_UP))


def uplink_failed_at(ns):
    """When the CE in namespace NS last saw its uplink fail (s, wall clock; 0: never)."""
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/sitemh"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "linkfail" and "uplink_failed_ns" in f:
            return int(f[f.index("uplink_failed_ns") + 1]) / 1e9
    return 0.0


def set_alt_route_from(frame, src):
    """Whether FRAME is the module's SET_ALT_ROUTE (ICMP type 41 code 3) from SRC."""
    if len(frame) < 20 or frame[0] >> 4 != 4 or frame[9] != socket.IPPROTO_ICMP:
        return False
    ihl = (frame[0] & 0xF) * 4
    return (frame[12:16] == socket.inet_aton(src) and len(frame) > ihl + 1
            and frame[ihl] == 41 and frame[ihl + 1] == 3)


def data_from(frame, src):
    """Whether FRAME (an IPv4 packet) is a TCP segment from SRC carrying data."""
    if len(frame) < 20 or frame[0] >> 4 != 4 or frame[9] != socket.IPPROTO_TCP:
        return False
    if frame[12:16] != socket.inet_aton(src):
        return False
    ihl = (frame[0] & 0xF) * 4
    total = struct.unpack("!H", frame[2:4])[0]
    if len(frame) < ihl + 13:
        return False
    doff = (frame[ihl + 12] >> 4) * 4
    return total - ihl - doff > 0


def wait_line(proc, word, timeout):
    """Whether PROC prints a line starting with WORD within TIMEOUT s (what it printed
    instead goes to stderr)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(word):
            return True
        print(f"# {line.rstrip()}", file=sys.stderr)
    return False


def main():
    tls, h, x, fail_ns, fail_if, mode = sys.argv[1:7]
    ce = sys.argv[7] if len(sys.argv) > 7 else None
    flags = ["-3"] if mode == "sitemh" else ["-u", "-m"]
    routes_x = [f"{X1},{H1}", f"{X2},{H1}", f"{X1},{H2}", f"{X2},{H2}"]
    routes_h = [f"{H1},{X1}", f"{H1},{X2}", f"{H2},{X1}", f"{H2},{X2}"]
    sniffer = socket_in(x, socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    sniffer.bind(("x-pe2", ETH_P_IP))
    sniffer.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    ctl = socket_in(fail_ns, socket.AF_INET, socket.SOCK_DGRAM)
    server = subprocess.Popen(["ip", "netns", "exec", x, tls, "server", *flags, X1,
                               str(PORT), *routes_x], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    client = None
    try:
        if not wait_line(server, "listening", 10):
            print("ms error (server)")
            return 1
        client = subprocess.Popen(["ip", "netns", "exec", h, tls, "client", *flags,
                                   "-r", "20000", H1, X1, str(PORT), str(1 << 30),
                                   *routes_h], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        if not wait_line(client, "ready", 20):
            print("ms error (client)")
            return 1
        time.sleep(0.5)  # the transfer under way
        while select.select([sniffer], [], [], 0)[0]:
            sniffer.recv(65536)
        t0 = time.clock_gettime(time.CLOCK_REALTIME)
        set_down(ctl, fail_if)
        end = time.monotonic() + WAIT_S
        request = ""
        while time.monotonic() < end:
            if not select.select([sniffer], [], [], max(0.0, end - time.monotonic()))[0]:
                break
            frame, anc, _, _ = sniffer.recvmsg(65536, socket.CMSG_SPACE(16))
            is_request = not request and set_alt_route_from(frame, H2)
            if not is_request and not data_from(frame, H2):
                continue
            stamp = None
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", val[:16])
                    stamp = sec + nsec / 1e9
            if stamp is None or stamp < t0:
                continue
            if is_request:
                request = f" request {(stamp - t0) * 1000:.1f}"
                continue
            if ce is None:
                print(f"ms {(stamp - t0) * 1000:.1f}{request}")
                return 0
            seen = uplink_failed_at(ce)
            if not t0 <= seen <= stamp:
                print(f"ms error (the CE saw its uplink fail at {seen}, not in [{t0}, {stamp}])")
                return 1
            print(f"ms {(stamp - seen) * 1000:.1f} ioctl {(stamp - t0) * 1000:.1f}{request}")
            return 0
        print("ms timeout")
        return 0
    finally:
        for p in (client, server):
            if p is not None:
                p.send_signal(signal.SIGKILL)
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
