#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`, guest side: switchover at scale (issue 21 item 7) on the multihomed-site
topology of selftests/switchover_site.sh (H - CE1/CE2 - PE1/PE2 - X).

    switchover_scale.py N H_NS X_NS FAIL_NS FAIL_IF CE_NS

N protected TCP connections from H (198.51.100.140, provider 1) to X (192.0.2.10), each
end registered with the module as sitemh_tls does (keys first, SITEMH_SO_SEQPARAM in the
exporter form, then the four routes, SITEMH_SO_LFROUTES); the keys are made up per
connection (no TLS handshake: 1,000 or 10,000 handshakes under TCG would take longer than
what is measured, and the module only sees the 40 exported octets anyway). Every
connection carries one byte each way first.

Then provider 1's path fails: interface FAIL_IF of namespace FAIL_NS goes down (PE1's end
of the CE1-PE1 link: CE1 sees carrier loss and sends the notice), and H at once writes
one byte on every connection. That byte can only arrive over a new pair (provider 1's
path is down). Printed, in ms from when CE_NS saw its uplink fail (the notice's origin,
as in switchover_time.py): "first F median M last L" of the byte's arrival at X on each
connection (read in a poll loop over all of X's sockets), "moved K" (connections of H
whose getsockopt(SITEMH_SO_LFROUTES) reports a move), and "ioctl T" (last arrival from
the ioctl, for reference). "timeout" if some byte did not arrive within WAIT_S.
"""
import ctypes
import fcntl
import hashlib
import os
import resource
import select
import socket
import struct
import subprocess
import sys
import time

H1, H2, X1, X2 = "198.51.100.140", "203.0.113.140", "192.0.2.10", "192.0.2.14"
PORT = 4444
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SO_BASE = 0x5348
SO_LFROUTES, SO_SEQPARAM = SO_BASE + 1, SO_BASE + 2
SEQPARAM_EXPORTER, ENTITY_SERVER, ENTITY_CLIENT = 2, 0, 1
WAIT_S = 60

libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    """Makes this thread's namespace NS; returns a handle to the one it had."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    with open(f"/run/netns/{ns}") as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    return own


def leave(own):
    libc.setns(own, CLONE_NEWNET)
    os.close(own)


def seqparam(i, entity):
    """struct sitemh_seqparam, exporter form: the same 40 octets at both ends."""
    block = hashlib.sha256(b"scale %d" % i).digest() + hashlib.sha256(b"more %d" % i).digest()
    return struct.pack("BB2x48x32x32x40s", SEQPARAM_EXPORTER, entity, block[:40])


def lfroutes(pairs):
    """struct sitemh_lfroutes's routes: the (local, peer) pairs."""
    return b"".join(socket.inet_aton(a) + socket.inet_aton(b) for a, b in pairs)


def protect(s, i, entity, pairs):
    s.setsockopt(socket.IPPROTO_IP, SO_SEQPARAM, seqparam(i, entity))
    s.setsockopt(socket.IPPROTO_IP, SO_LFROUTES, lfroutes(pairs))


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


def connect_all(n, h, x):
    """N registered connections: (H's sockets, X's sockets)."""
    routes_h = [(H1, X1), (H1, X2), (H2, X1), (H2, X2)]
    routes_x = [(X1, H1), (X2, H1), (X1, H2), (X2, H2)]
    own = enter(x)
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((X1, PORT))
        listener.listen(128)
    finally:
        leave(own)
    clients, servers = [], []
    for i in range(n):
        own = enter(h)
        try:
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            leave(own)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.bind((H1, 0))
        c.connect((X1, PORT))
        s, _ = listener.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        protect(c, i, ENTITY_CLIENT, routes_h)
        protect(s, i, ENTITY_SERVER, routes_x)
        clients.append(c)
        servers.append(s)
    listener.close()
    return clients, servers


def exchange_once(clients, servers):
    """One byte each way on every connection, before the failure."""
    for c in clients:
        c.send(b"a")
    for s in servers:
        if s.recv(1) != b"a":
            raise RuntimeError("no first byte")
        s.send(b"b")
    for c in clients:
        if c.recv(1) != b"b":
            raise RuntimeError("no first answer")


def moved(sock):
    """Whether the module moved SOCK (switches > 0 in SITEMH_SO_LFROUTES)."""
    got = sock.getsockopt(socket.IPPROTO_IP, SO_LFROUTES, 4 + 16 * 8)
    return got[3] > 0


def main():
    n = int(sys.argv[1])
    h, x, fail_ns, fail_if, ce = sys.argv[2:7]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * n + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    start = time.monotonic()
    clients, servers = connect_all(n, h, x)
    exchange_once(clients, servers)
    print(f"# {n} connections registered in {time.monotonic() - start:.1f} s", file=sys.stderr)
    own = enter(fail_ns)
    try:
        ctl = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    finally:
        leave(own)
    for s in servers:
        s.setblocking(False)
    poll = select.poll()
    index = {}
    for i, s in enumerate(servers):
        poll.register(s, select.POLLIN)
        index[s.fileno()] = i
    arrived = [None] * n
    t_ioctl = time.time()
    set_down(ctl, fail_if)
    for c in clients:
        c.send(b"x")
    left = n
    end = time.monotonic() + WAIT_S
    while left and time.monotonic() < end:
        for fd, _ in poll.poll(100):
            now = time.time()
            i = index[fd]
            try:
                data = servers[i].recv(16)
            except BlockingIOError:
                continue
            except OSError:
                # Reset (a connection given up on): it never arrives.
                poll.unregister(fd)
                continue
            if b"x" in data and arrived[i] is None:
                arrived[i] = now
                left -= 1
                poll.unregister(fd)
    failed_at = uplink_failed_at(ce) or t_ioctl
    count_moved = sum(moved(c) for c in clients)
    times = sorted((t - failed_at) * 1000 for t in arrived if t is not None)
    if left:
        print(f"ms timeout arrived {len(times)} of {n} moved {count_moved}")
    else:
        print(f"ms first {times[0]:.1f} median {times[len(times) // 2]:.1f} "
              f"last {times[-1]:.1f} moved {count_moved} "
              f"ioctl {(max(arrived) - t_ioctl) * 1000:.1f}")
    for s in clients + servers:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()


if __name__ == "__main__":
    main()
