#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Forged, tampered and replayed SET_ALT_ROUTE messages against a tracked connection.

Usage: sitemh_lfmsg.py NS_H NS_X H1 H2 X1 X2

Opens a TCP connection from H1 (namespace NS_H) to X1 (namespace NS_X), registers both
ends with SITEMH_SO_SEQPARAM (the exporter form, with keying material this script knows)
and SITEMH_SO_LFROUTES, then plays H's side of the exchange by hand (raw ICMP from H2),
sealing messages as rust/logic/kdf.rs and rust/logic/linkfail.rs describe. Every bad
message must be refused and counted by X with no change of route; one valid message must
move X, and its replay must be refused. Prints one line per case; exit 1 if any is wrong.
"""

import ctypes
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SO_BASE = 0x5348
SO_LFROUTES, SO_SEQPARAM = SO_BASE + 1, SO_BASE + 2
CLONE_NEWNET = 0x40000000
TYPE = 41
KEY_BLOCK = bytes(range(100, 140))
CLIENT_KEY, CLIENT_SALT = KEY_BLOCK[0:16], KEY_BLOCK[32:36]

libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    with open(f"/run/netns/{ns}") as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def message(code, pcb, alt_code, alt_src, alt_dst, seq, key=CLIENT_KEY, salt=CLIENT_SALT):
    """A code 3/4 message: ICMP header, id_pcb in clear, TLS-style record."""
    proto, laddr, faddr, lport, fport = pcb
    clear = struct.pack("!BBHI", TYPE, code, 0, 0)
    clear += struct.pack("!B3x4s4sHH", proto, socket.inet_aton(laddr), socket.inet_aton(faddr),
                         lport, fport)
    clear += struct.pack("!BHH", 41, 0x0303, 8 + 20 + 16)
    # The code, the sender's clock (ms) when it sealed it, the alternate pair.
    stamp = time.monotonic_ns() // 1_000_000
    plain = struct.pack("!B3xQ4s4s", alt_code, stamp, socket.inet_aton(alt_src),
                        socket.inet_aton(alt_dst))
    nonce = salt + struct.pack("!Q", seq)
    sealed = AESGCM(key).encrypt(nonce, plain, clear)
    m = bytearray(clear + struct.pack("!Q", seq) + sealed)
    m[2:4] = struct.pack("!H", checksum(bytes(m)))
    return bytes(m)


def refix(m):
    """The same octets with a correct ICMP checksum (so only the crypto can refuse it)."""
    m = bytearray(m)
    m[2:4] = b"\0\0"
    m[2:4] = struct.pack("!H", checksum(bytes(m)))
    return bytes(m)


def counter(ns, name):
    enter(ns)
    with open("/proc/net/sitemh") as f:
        for line in f:
            words = line.split()
            if words and words[0] == "switchover":
                return int(words[words.index(name) + 1])
    return -1


def wait_counted(ns, names, before, want, timeout):
    """The growth of counters NAMES (summed) since BEFORE, once it reaches WANT or
    TIMEOUT seconds passed."""
    end = time.monotonic() + timeout
    while True:
        grown = sum(counter(ns, n) - b for n, b in zip(names, before))
        if grown >= want or time.monotonic() >= end:
            return grown
        time.sleep(0.05)


def set_limits(ns, rate, burst):
    """net.ipv4.sitemh_lf.peer_rate and peer_burst of namespace NS."""
    enter(ns)
    for name, value in (("peer_rate", rate), ("peer_burst", burst)):
        with open(f"/proc/sys/net/ipv4/sitemh_lf/{name}", "w") as f:
            f.write(f"{value}\n")


def in_use(sock):
    return sock.getsockopt(socket.IPPROTO_IP, SO_LFROUTES, 4 + 16 * 8)[2]


def main():
    ns_h, ns_x, h1, h2, x1, x2 = sys.argv[1:7]
    enter(ns_x)
    listener = socket.socket()
    listener.bind((x1, 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    enter(ns_h)
    client = socket.socket()
    client.bind((h1, 0))
    client.connect((x1, port))
    hport = client.getsockname()[1]
    enter(ns_x)
    server, _ = listener.accept()

    def pairs(*p):
        return b"".join(socket.inet_aton(a) + socket.inet_aton(b) for a, b in p)

    for sock, entity, routes in (
        (client, 1, pairs((h1, x1), (h1, x2), (h2, x1), (h2, x2))),
        (server, 0, pairs((x1, h1), (x2, h1), (x1, h2), (x2, h2))),
    ):
        sock.setsockopt(socket.IPPROTO_IP, SO_SEQPARAM,
                        bytes([2, entity, 0, 0]) + bytes(48 + 64) + KEY_BLOCK)
        sock.setsockopt(socket.IPPROTO_IP, SO_LFROUTES, routes)

    enter(ns_h)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw.bind((h2, 0))

    def send(m):
        raw.sendto(m, (x1, 0))

    pcb = (6, h1, x1, hport, port)
    good = message(3, pcb, 3, h2, x1, 7)
    tampered = bytearray(good)
    tampered[40] ^= 1  # in the ciphertext (37..56); the tag is 57..72
    cases = [
        ("wrong key", message(3, pcb, 3, h2, x1, 1, key=bytes(16))),
        ("wrong salt (nonce)", message(3, pcb, 3, h2, x1, 2, salt=b"salt")),
        ("tampered ciphertext", refix(tampered)),
        ("tampered clear part (padding of id_pcb)", refix(good[:9] + b"\1" + good[10:])),
        ("code 4 in the encrypted part of a code 3", message(3, pcb, 4, h2, x1, 3)),
        ("unknown connection", message(3, (6, h1, x1, hport ^ 1, port), 3, h2, x1, 4)),
        ("a pair that is not a route", message(3, pcb, 3, "10.0.0.1", x1, 5)),
        ("truncated", refix(good[:-1])),
        ("oversized", refix(good + b"\0")),
        ("sequence number 0", message(3, pcb, 3, h2, x1, 0)),
    ]
    bad = 0
    for name, m in cases:
        before = counter(ns_x, "refused")
        enter(ns_h)
        send(m)
        time.sleep(0.3)
        after = counter(ns_x, "refused")
        ok = after == before + 1 and in_use(server) == 0xFF
        print(f"{name:55} refused {before}->{after} {'ok' if ok else 'WRONG'}")
        bad |= not ok

    before = counter(ns_x, "switched")
    refused_h = counter(ns_h, "refused")
    enter(ns_h)
    send(good)
    time.sleep(0.5)
    ok = counter(ns_x, "switched") == before + 1 and in_use(server) == 2
    print(f"{'valid request moves the peer':55} in_use {in_use(server)} {'ok' if ok else 'WRONG'}")
    bad |= not ok
    # The peer's answer reaches H, which asked nothing: refused there (by this answer: a
    # delta, H's count includes the earlier cases').
    ok = counter(ns_h, "refused") >= refused_h + 1
    print(f"{'unsolicited answer refused by H':55} {'ok' if ok else 'WRONG'}")
    bad |= not ok

    before = counter(ns_x, "refused")
    enter(ns_h)
    send(good)
    time.sleep(0.3)
    ok = counter(ns_x, "refused") == before + 1 and in_use(server) == 2
    print(f"{'replayed request':55} {'ok' if ok else 'WRONG'}")
    bad |= not ok

    # A flood: X works through a bounded queue, drops the rest, and changes nothing. Every
    # forged request is refused and counted, whether the queue took it (refused when it
    # does not open) or not (refused for want of room): the count is the flood's size
    # (a few lost on the way at most), not merely some.
    flood = 2000
    set_limits(ns_x, 0, 500)
    before = counter(ns_x, "refused")
    enter(ns_h)
    for seq in range(100, 100 + flood):
        send(message(3, pcb, 3, h1, x1, seq, key=bytes(16)))
    refused = wait_counted(ns_x, ("refused",), (before,), flood, 5.0)
    ok = flood - flood // 50 <= refused <= flood and in_use(server) == 2
    print(f"{f'flood of {flood} forged requests':55} refused +{refused} {'ok' if ok else 'WRONG'}")
    bad |= not ok

    # The same flood within a per-peer limit of 50 a second after 20: most never reach
    # the queue, and nothing changes. Each message is either limited or refused: the two
    # counts add up to the flood.
    set_limits(ns_x, 50, 20)
    before = counter(ns_x, "limited"), counter(ns_x, "refused")
    start = time.monotonic()
    enter(ns_h)
    for seq in range(100 + flood, 100 + 2 * flood):
        send(message(3, pcb, 3, h1, x1, seq, key=bytes(16)))
    elapsed = time.monotonic() - start
    counted = wait_counted(ns_x, ("limited", "refused"), before, flood, 5.0)
    limited = counter(ns_x, "limited") - before[0]
    ok = (flood - flood // 50 <= counted <= flood
          and limited >= max(flood // 2, flood - 20 - 50 * (elapsed + 1)) and in_use(server) == 2)
    print(f"{'flood over the per-peer rate limit':55} limited +{limited} of {counted} counted "
          f"in {elapsed:.1f} s {'ok' if ok else 'WRONG'}")
    bad |= not ok
    set_limits(ns_x, 1000, 500)
    for s in (client, server, listener, raw):
        s.close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
