#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Cross-user connection hijack through SITEMH_SO_LFROUTES (issue 20, item 2).

Usage: sitemh_hijack.py CASE NS_H NS_R

NS_H is the host: it holds L1 and L2 (192.0.2.1, .2 and 2001:db8::1, ::2). NS_R holds
the remotes: R1 (.100), the victim's peer; R2 (.200), the attacker's own remote; and
STRANGER (.50), which is no peer of anyone.

The victim (root) holds a connected socket L1:port <-> R1:rport. An unprivileged process
(uid 65534) binds L2 with the same port, connects to R2:rport, registers keys it chose
(SITEMH_SO_SEQPARAM) and the routes [(L2, R2), (L1, R1)], and its remote end seals a
SET_ALT_ROUTE proposing the victim's pair. Whatever the order of these steps, the
victim's socket must receive every datagram R1 sends it, and the attacker's none.

Cases (one line of output each; exit 1 if wrong):
  set4, set6        the victim connects first: SO_LFROUTES naming its pair is refused
                    (IPv4, IPv6; UDP)
  settcp            the same for TCP
  move              the attacker registers before the victim exists; the victim connects;
                    then the move is refused
  translate         the attacker registers and moves before the victim exists; then the
                    victim connects: its datagrams are not translated to the attacker
  notpeer           a valid sealed SET_ALT_ROUTE for a connection, from an address that is
                    none of its peers: refused and counted, nothing moves
  stale             a valid request sealed long before one already accepted: refused
  flood             garbage and forged messages do not crowd out a real exchange
"""

import ctypes
import errno
import os
import select
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SO_BASE = 0x5348
SO_LFROUTES, SO_SEQPARAM = SO_BASE + 1, SO_BASE + 2
CLONE_NEWNET = 0x40000000
TYPE4, TYPE6 = 41, 200
KEY_BLOCK = bytes(range(60, 100))
CLIENT_KEY, CLIENT_SALT = KEY_BLOCK[0:16], KEY_BLOCK[32:36]
DATAGRAMS = 50
NOBODY = 65534

ADDRS = {
    4: dict(l1="192.0.2.1", l2="192.0.2.2", r1="192.0.2.100", r2="192.0.2.200",
            stranger="192.0.2.50"),
    6: dict(l1="2001:db8::1", l2="2001:db8::2", r1="2001:db8::100", r2="2001:db8::200",
            stranger="2001:db8::50"),
}

libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    with open(f"/run/netns/{ns}") as f:
        if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")


def family(v):
    return socket.AF_INET if v == 4 else socket.AF_INET6


def level(v):
    return socket.IPPROTO_IP if v == 4 else socket.IPPROTO_IPV6


def packed(v, addr):
    return socket.inet_pton(family(v), addr)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def now_ms():
    return time.monotonic_ns() // 1_000_000


def message(v, proto, laddr, faddr, lport, fport, alt_src, alt_dst, seq, stamp=None,
            key=CLIENT_KEY):
    """A SET_ALT_ROUTE naming the connection as its sender (the remote) sees it, sealed
    at `stamp` (ms of the sender's clock; now by default)."""
    a = 4 if v == 4 else 16
    stamp = now_ms() if stamp is None else stamp
    clear = struct.pack("!BBHI", TYPE4 if v == 4 else TYPE6, 3, 0, 0)
    clear += struct.pack(f"!B3x{a}s{a}sHH", proto, packed(v, laddr), packed(v, faddr),
                         lport, fport)
    plain = struct.pack(f"!B3xQ{a}s{a}s", 3, stamp, packed(v, alt_src), packed(v, alt_dst))
    clear += struct.pack("!BHH", 41, 0x0303, 8 + len(plain) + 16)
    nonce = CLIENT_SALT + struct.pack("!Q", seq)
    sealed = AESGCM(key).encrypt(nonce, plain, clear)
    m = bytearray(clear + struct.pack("!Q", seq) + sealed)
    if v == 4:
        m[2:4] = struct.pack("!H", checksum(bytes(m)))
    # ICMPv6: the raw socket fills in the checksum.
    return bytes(m)


def send_icmp(v, ns, src, dst, *messages):
    enter(ns)
    if v == 4:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    else:
        raw = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    raw.bind((src, 0))
    for m in messages:
        raw.sendto(m, (dst, 0))
    raw.close()


def counter(ns, v, name):
    enter(ns)
    line = "switchover" if v == 4 else "switchover6"
    with open("/proc/net/sitemh") as f:
        for words in (l.split() for l in f):
            if words and words[0] == line:
                return int(words[words.index(name) + 1])
    return -1


def wait_counter(ns, v, name, above, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if counter(ns, v, name) > above:
            return True
        time.sleep(0.05)
    return False


def drain(sock, wait=0.5):
    """Datagrams (or TCP octets) waiting on sock, until none came for `wait` seconds."""
    n = 0
    while select.select([sock], [], [], wait)[0]:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        n += 1
    return n


class Attacker:
    """An unprivileged process in NS_H that answers commands over a pipe."""

    def __init__(self, ns, v, proto, port, rport, routes):
        self.cmd_r, self.cmd_w = os.pipe()
        self.res_r, self.res_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                self.child(ns, v, proto, port, rport, routes)
            finally:
                os._exit(0)
        os.close(self.cmd_r)
        os.close(self.res_w)
        self.result = self.read()

    def child(self, ns, v, proto, port, rport, routes):
        os.close(self.cmd_w)
        os.close(self.res_r)
        enter(ns)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        a = ADDRS[v]
        kind = socket.SOCK_STREAM if proto == 6 else socket.SOCK_DGRAM
        s = socket.socket(family(v), kind)
        s.bind((a["l2"], port))
        s.connect((a["r2"], rport))
        s.setsockopt(level(v), SO_SEQPARAM, bytes([2, 0, 0, 0]) + bytes(48 + 64) + KEY_BLOCK)
        try:
            s.setsockopt(level(v), SO_LFROUTES,
                         b"".join(packed(v, a[x]) + packed(v, a[y]) for x, y in routes))
            self.write("registered")
        except OSError as e:
            self.write(f"refused {errno.errorcode.get(e.errno, e.errno)}")
        while True:
            cmd = os.read(self.cmd_r, 64).decode()
            if cmd == "inuse":
                try:
                    answer = s.getsockopt(level(v), SO_LFROUTES, 4 + 16 * 32)[2]
                except OSError as e:
                    answer = errno.errorcode.get(e.errno, e.errno)
                self.write(str(answer))
            elif cmd == "drain":
                self.write(str(drain(s)))
            else:
                s.close()
                return

    def write(self, text):
        os.write(self.res_w if self.pid == 0 else self.cmd_w, text.encode())

    def read(self):
        return os.read(self.res_r, 64).decode()

    def ask(self, cmd):
        os.write(self.cmd_w, cmd.encode())
        return self.read()

    def close(self):
        os.write(self.cmd_w, b"exit")
        os.waitpid(self.pid, 0)


def victim_socket(ns, v, proto, port, rport):
    enter(ns)
    a = ADDRS[v]
    kind = socket.SOCK_STREAM if proto == 6 else socket.SOCK_DGRAM
    s = socket.socket(family(v), kind)
    s.bind((a["l1"], port))
    s.connect((a["r1"], rport))
    return s


def blast(ns, v, port, rport):
    """R1:rport sends DATAGRAMS datagrams to L1:port (the victim's pair)."""
    enter(ns)
    a = ADDRS[v]
    s = socket.socket(family(v), socket.SOCK_DGRAM)
    s.bind((a["r1"], rport))
    for i in range(DATAGRAMS):
        s.sendto(b"for the victim %d" % i, (a["l1"], port))
        time.sleep(0.002)
    s.close()


def propose(v, ns_r, proto, port, rport, src, seq=7):
    """The attacker's remote (R2 as the connection's peer) proposes the victim's pair
    (R1 -> L1), from `src`."""
    a = ADDRS[v]
    m = message(v, proto, a["r2"], a["l2"], rport, port, a["r1"], a["l1"], seq)
    send_icmp(v, ns_r, a[src], a["l2"], m)


def outcome(name, ok, detail):
    print(f"{name:40} {detail} {'ok' if ok else 'WRONG'}")
    return 0 if ok else 1


def case_set(ns_h, ns_r, v, proto):
    port, rport = (5000, 7000) if proto == 17 else (5001, 7001)
    a = ADDRS[v]
    listener = None
    if proto == 6:
        enter(ns_r)
        listener = socket.socket(family(v), socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("::" if v == 6 else "0.0.0.0", rport))
        listener.listen(4)
    victim = victim_socket(ns_h, v, proto, port, rport)
    attacker = Attacker(ns_h, v, proto, port, rport, [("l2", "r2"), ("l1", "r1")])
    refused = attacker.result.startswith("refused")
    switched = counter(ns_h, v, "switched")
    propose(v, ns_r, proto, port, rport, "r2")
    wait_counter(ns_h, v, "switched", switched, 1.0)
    if proto == 17:
        blast(ns_r, v, port, rport)
        got_victim, got_attacker = drain(victim), int(attacker.ask("drain"))
        ok = refused and got_victim == DATAGRAMS and got_attacker == 0
        detail = f"SO_LFROUTES {attacker.result}; victim {got_victim} attacker {got_attacker}"
    else:
        in_use = attacker.ask("inuse")
        ok = refused and in_use != "1"
        detail = f"SO_LFROUTES {attacker.result}; attacker in_use {in_use}"
    attacker.close()
    victim.close()
    if listener:
        listener.close()
    return outcome(f"set (IPv{v}, {'TCP' if proto == 6 else 'UDP'})", ok, detail)


def case_move(ns_h, ns_r):
    v, proto, port, rport = 4, 17, 5010, 7010
    attacker = Attacker(ns_h, v, proto, port, rport, [("l2", "r2"), ("l1", "r1")])
    victim = victim_socket(ns_h, v, proto, port, rport)
    switched, refused = counter(ns_h, v, "switched"), counter(ns_h, v, "refused")
    # From R1, the proposed pair's peer: only the tuple's owner can stop it.
    propose(v, ns_r, proto, port, rport, "r1")
    wait_counter(ns_h, v, "switched", switched, 1.0) or wait_counter(ns_h, v, "refused", refused, 1.0)
    in_use = attacker.ask("inuse")
    blast(ns_r, v, port, rport)
    got_victim, got_attacker = drain(victim), int(attacker.ask("drain"))
    ok = got_victim == DATAGRAMS and got_attacker == 0 and in_use != "1"
    attacker.close()
    victim.close()
    return outcome("move onto an owned pair", ok,
                   f"SO_LFROUTES {attacker.result}; in_use {in_use}; "
                   f"victim {got_victim} attacker {got_attacker}")


def case_translate(ns_h, ns_r):
    v, proto, port, rport = 4, 17, 5020, 7020
    attacker = Attacker(ns_h, v, proto, port, rport, [("l2", "r2"), ("l1", "r1")])
    switched = counter(ns_h, v, "switched")
    propose(v, ns_r, proto, port, rport, "r1")
    moved = wait_counter(ns_h, v, "switched", switched, 2.0)
    # The pair is nobody's yet; now the victim takes it.
    victim = victim_socket(ns_h, v, proto, port, rport)
    blast(ns_r, v, port, rport)
    got_victim, got_attacker = drain(victim), int(attacker.ask("drain"))
    ok = got_victim == DATAGRAMS and got_attacker == 0
    attacker.close()
    victim.close()
    return outcome("no translation onto an owned pair", ok,
                   f"moved {moved}; victim {got_victim} attacker {got_attacker}")


def case_notpeer(ns_h, ns_r):
    v, proto, port, rport = 4, 17, 5030, 7030
    a = ADDRS[v]
    # A connection of its own, with a second route to R1 that nobody uses.
    attacker = Attacker(ns_h, v, proto, port, rport, [("l2", "r2"), ("l2", "r1")])
    refused, switched = counter(ns_h, v, "refused"), counter(ns_h, v, "switched")
    m = message(v, proto, a["r2"], a["l2"], rport, port, a["r1"], a["l2"], 9)
    send_icmp(v, ns_r, a["stranger"], a["l2"], m)
    counted = wait_counter(ns_h, v, "refused", refused, 2.0)
    in_use = attacker.ask("inuse")
    ok = (attacker.result == "registered" and counted and in_use == "255"
          and counter(ns_h, v, "switched") == switched)
    attacker.close()
    return outcome("exchange message from a non-peer", ok,
                   f"SO_LFROUTES {attacker.result}; refused counted {counted}; in_use {in_use}")


def case_stale(ns_h, ns_r):
    """A valid request sealed 10 s before the peer's newest accepted one (held back by
    someone on the path, with a sequence number never seen) is refused."""
    v, proto, port, rport = 4, 17, 5040, 7040
    a = ADDRS[v]
    conn = Attacker(ns_h, v, proto, port, rport, [("l2", "r2"), ("l2", "r1")])
    switched = counter(ns_h, v, "switched")
    now = now_ms()
    # To (R1 -> L2): accepted, the connection moves.
    send_icmp(v, ns_r, a["r1"], a["l2"],
              message(v, proto, a["r2"], a["l2"], rport, port, a["r1"], a["l2"], 20, now))
    moved = wait_counter(ns_h, v, "switched", switched, 2.0) and conn.ask("inuse") == "1"
    # Back to (R2 -> L2), sealed long ago: refused and counted, nothing moves.
    refused = counter(ns_h, v, "refused")
    send_icmp(v, ns_r, a["r2"], a["l2"],
              message(v, proto, a["r2"], a["l2"], rport, port, a["r2"], a["l2"], 30,
                      now - 10_000))
    counted = wait_counter(ns_h, v, "refused", refused, 2.0)
    in_use = conn.ask("inuse")
    # The same sealed now is accepted: only its age was wrong.
    send_icmp(v, ns_r, a["r2"], a["l2"],
              message(v, proto, a["r2"], a["l2"], rport, port, a["r2"], a["l2"], 31))
    back = wait_counter(ns_h, v, "switched", switched + 1, 2.0)
    conn.close()
    ok = moved and counted and in_use == "1" and back
    return outcome("a request held back and played late", ok,
                   f"moved {moved}; late one refused {counted}, in_use {in_use}; fresh one {back}")


def case_flood(ns_h, ns_r):
    """A flood of garbage (names no connection) and of forged messages naming one
    connection, from that connection's peer, leaves room for another connection's
    exchange."""
    v, proto = 4, 17
    a = ADDRS[v]
    victim = Attacker(ns_h, v, proto, 5050, 7050, [("l2", "r2"), ("l2", "r1")])
    other = Attacker(ns_h, v, proto, 5060, 7060, [("l2", "r2"), ("l2", "r1")])
    forged = [message(v, proto, a["r2"], a["l2"], 7050, 5050, a["r2"], a["l2"], seq,
                      key=bytes(16)) for seq in range(100, 1100)]
    garbage = [message(v, proto, a["r2"], a["l2"], 9, 9, a["r2"], a["l2"], seq)
               for seq in range(100, 1100)]
    valid = message(v, proto, a["r2"], a["l2"], 7060, 5060, a["r1"], a["l2"], 5)
    flood = [m for pair in zip(forged, garbage) for m in pair]
    switched = counter(ns_h, v, "switched")
    # Every message of the flood is refused (garbage at once, forged ones when they do not
    # open, or for want of room in the queue) or over the peer's rate limit: the counts
    # grow by the flood's size, not merely some.
    before = counter(ns_h, v, "refused") + counter(ns_h, v, "limited")
    send_icmp(v, ns_r, a["r2"], a["l2"], *flood[:1000])
    send_icmp(v, ns_r, a["r1"], a["l2"], valid)
    send_icmp(v, ns_r, a["r2"], a["l2"], *flood[1000:])
    moved = wait_counter(ns_h, v, "switched", switched, 3.0)
    end = time.monotonic() + 5.0
    while True:
        counted = counter(ns_h, v, "refused") + counter(ns_h, v, "limited") - before
        if counted >= len(flood) or time.monotonic() >= end:
            break
        time.sleep(0.05)
    in_use = other.ask("inuse"), victim.ask("inuse")
    victim.close()
    other.close()
    ok = (moved and in_use == ("1", "255")
          and len(flood) - len(flood) // 50 <= counted <= len(flood))
    return outcome("an exchange amid a flood", ok,
                   f"moved {moved}; in_use {in_use}; refused or limited {counted} of {len(flood)}")


def main():
    case, ns_h, ns_r = sys.argv[1:4]
    if case == "set4":
        return case_set(ns_h, ns_r, 4, 17)
    if case == "set6":
        return case_set(ns_h, ns_r, 6, 17)
    if case == "settcp":
        return case_set(ns_h, ns_r, 4, 6)
    if case == "move":
        return case_move(ns_h, ns_r)
    if case == "translate":
        return case_translate(ns_h, ns_r)
    if case == "notpeer":
        return case_notpeer(ns_h, ns_r)
    if case == "stale":
        return case_stale(ns_h, ns_r)
    if case == "flood":
        return case_flood(ns_h, ns_r)
    print(f"unknown case {case}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
