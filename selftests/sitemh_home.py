#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Applications and capture reading for the home-address selftest (sitemh_home.sh).

  tcp-server PORT [WILDCARD] accept one connection (:: for IPv6); print "peer ADDR local ADDR"; echo
                             everything back until the peer closes
  tcp-client BIND DST PORT N connect from BIND, send N random octets, read them back;
                             print "local ADDR peer ADDR ok" if the echo is byte-exact
  tcp-hold BIND DST PORT     connect, then echo a line through the connection for every
                             line on stdin (a connection that lives across a change)
  udp-server BIND PORT       echo datagrams; print "peer ADDR" for the first
  udp-client BIND DST PORT   send one datagram from BIND; print "reply ADDR ok"
  options PCAP SRC           the IPv4 options (hex) of the first packet from SRC in the
                             capture (Ethernet), "-" if it has none; for an IPv6 SRC the
                             routing header right after the IPv6 header
  send-malformed SRC DST     send UDP datagrams whose stacking options a receiver must
                             refuse (raw socket: no router parses them on the way); print
                             "sent WHAT" for each
"""

import hashlib
import os
import socket
import struct
import sys


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def tcp_server(port, wildcard="0.0.0.0"):
    with socket.socket(family(wildcard)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((wildcard, port))
        s.listen(1)
        # A client that never arrives (a broken build) must not hang the test.
        s.settimeout(30)
        c, peer = s.accept()
        c.settimeout(30)
        with c:
            print(f"peer {peer[0]} local {c.getsockname()[0]}", flush=True)
            while True:
                data = c.recv(65536)
                if not data:
                    break
                c.sendall(data)


def tcp_client(bind, dst, port, n):
    data = os.urandom(n)
    with socket.socket(family(dst)) as s:
        s.settimeout(20)
        s.bind((bind, 0))
        s.connect((dst, port))
        local, peer = s.getsockname()[0], s.getpeername()[0]
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        same = hashlib.sha256(got).digest() == hashlib.sha256(data).digest()
        print(f"local {local} peer {peer} {'ok' if same else 'MISMATCH'} {len(got)}")
        return 0 if same else 1


def tcp_hold(bind, dst, port):
    with socket.socket(family(dst)) as s:
        s.settimeout(10)
        s.bind((bind, 0))
        s.connect((dst, port))
        for line in sys.stdin:
            s.sendall(line.encode())
            got = s.recv(65536).decode()
            print(f"echo {got.strip()}", flush=True)
    return 0


def udp_server(bind, port):
    with socket.socket(family(bind), socket.SOCK_DGRAM) as s:
        s.bind((bind, port))
        first = True
        while True:
            data, peer = s.recvfrom(65536)
            if first:
                print(f"peer {peer[0]}", flush=True)
                first = False
            s.sendto(data, peer)


def udp_client(bind, dst, port):
    data = os.urandom(1000)
    with socket.socket(family(dst), socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.bind((bind, 0))
        s.sendto(data, (dst, port))
        got, peer = s.recvfrom(65536)
        print(f"reply {peer[0]} {'ok' if got == data else 'MISMATCH'}")
        return 0 if got == data else 1


def options(pcap, src):
    with open(pcap, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        skip = 14 if linktype == 1 else 16 if linktype == 113 else 0
        v6 = ":" in src
        want = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, src)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            incl = struct.unpack(endian + "I", rec[8:12])[0]
            frame = f.read(incl)
            ip = frame[skip:]
            if v6:
                # IPv6: the routing header right after the fixed header, if any.
                if len(ip) < 48 or ip[0] >> 4 != 6 or ip[8:24] != want:
                    continue
                if ip[6] != 43:
                    print("-")
                else:
                    print(ip[40:40 + (ip[41] + 1) * 8].hex())
                return 0
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[12:16] != want:
                continue
            ihl = (ip[0] & 15) * 4
            print(ip[20:ihl].hex() or "-")
            return 0
    print("none")
    return 1


def addr(text):
    return socket.inet_aton(text)


# Options areas a receiver that is not away from home must refuse, each padded to a
# multiple of 4 octets with END.
MALFORMED = [
    ("wrong length", bytes([144, 12, 1, 0]) + addr("100.64.0.9") + bytes(4)),
    ("unknown type", bytes([144, 8, 7, 0]) + addr("100.64.0.9")),
    ("loopback home", bytes([144, 8, 1, 0]) + addr("127.0.0.1")),
    ("multicast home", bytes([144, 8, 1, 0]) + addr("224.0.0.9")),
    ("two options", bytes([144, 8, 1, 0]) + addr("100.64.0.9")
     + bytes([144, 8, 1, 0]) + addr("100.64.0.8")),
    ("truncated", bytes([1, 1, 1, 1, 144, 8, 1, 0])),
    ("the draft's layout", bytes([144, 1, 0, 0]) + addr("100.64.0.9")),
    ("receiver home not ours", bytes([144, 8, 0, 0]) + addr("100.64.0.99")),
    ("type 2, receiver home not ours", bytes([144, 12, 2, 0]) + addr("100.64.0.9")
     + addr("100.64.0.99")),
]


def send_malformed(src, dst):
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        for what, options in MALFORMED:
            payload = b"stacking"
            udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
            ihl = 5 + len(options) // 4
            header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 0, 0, 0, 64,
                                 socket.IPPROTO_UDP, 0, addr(src), addr(dst))
            s.sendto(header + options + udp, (dst, 0))
            print(f"sent {what}")
    # A sender claiming its own source as its home address.
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        options = bytes([144, 8, 1, 0]) + addr(src)
        udp = struct.pack("!HHHH", 40000, 9, 8, 0)
        header = struct.pack("!BBHHHBBH4s4s", 0x47, 0, 0, 0, 0, 64, socket.IPPROTO_UDP, 0,
                             addr(src), addr(dst))
        s.sendto(header + options + udp, (dst, 0))
        print("sent its own source as its home")
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "tcp-server":
        return tcp_server(int(args[0]), *args[1:2])
    if cmd == "tcp-client":
        return tcp_client(args[0], args[1], int(args[2]), int(args[3]))
    if cmd == "tcp-hold":
        return tcp_hold(args[0], args[1], int(args[2]))
    if cmd == "udp-server":
        return udp_server(args[0], int(args[1]))
    if cmd == "udp-client":
        return udp_client(args[0], args[1], int(args[2]))
    if cmd == "send-malformed":
        return send_malformed(args[0], args[1])
    if cmd == "options":
        return options(args[0], args[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
