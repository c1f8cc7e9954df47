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

import errno
import hashlib
import hmac
import os
import socket
import struct
import sys
import time


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
    # Sent again every second until answered: the first datagram to a new correspondent
    # may arrive before the correspondent has taken the binding update it triggered.
    data = os.urandom(1000)
    with socket.socket(family(dst), socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.bind((bind, 0))
        for _ in range(5):
            s.sendto(data, (dst, port))
            try:
                got, peer = s.recvfrom(65536)
            except socket.timeout:
                continue
            print(f"reply {peer[0]} {'ok' if got == data else 'MISMATCH'}")
            return 0 if got == data else 1
        print("no reply")
        return 1


def packets(pcap):
    """The IP packets of PCAP (Ethernet, Linux cooked or raw), in order."""
    with open(pcap, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        skip = 14 if linktype == 1 else 16 if linktype == 113 else 0
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(endian + "I", rec[8:12])[0]
            yield f.read(incl)[skip:]


def options(pcap, src):
    v6 = ":" in src
    want = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, src)
    for ip in packets(pcap):
        if v6:
            # IPv6: the routing header right after the fixed header, if any. The
            # module's own messages (binding updates and errors) are not the flow's.
            if len(ip) < 48 or ip[0] >> 4 != 6 or ip[8:24] != want or ip[6] == 58:
                continue
            if ip[6] != 43:
                print("-")
            else:
                print(ip[40:40 + (ip[41] + 1) * 8].hex())
            return 0
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[12:16] != want or ip[9] == 1:
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


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send_stacked(src, dst, home):
    """A type 1 stacked UDP datagram from SRC claiming HOME as its sender's home: what an
    attacker sends to make DST bind HOME to SRC."""
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        options = bytes([144, 8, 1, 0]) + addr(home)
        payload = b"forged binding"
        udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
        header = struct.pack("!BBHHHBBH4s4s", 0x47, 0, 0, 0, 0, 255, socket.IPPROTO_UDP, 0,
                             addr(src), addr(dst))
        s.sendto(header + options + udp, (dst, 0))
    print("sent")
    return 0


def binding_update(key_hex, home, careof, correspondent, stamp_ms, lifetime=120, type_=41):
    """A binding update (rust/logic/binding_update.rs) under KEY_HEX, checksum filled in."""
    key = bytes.fromhex(key_hex)
    body = addr(home) + addr(careof) + struct.pack("!QHH", stamp_ms, lifetime, 0)
    head = bytes([type_, 7])
    mac = hmac.new(key, b"sitemh binding update v1" + head + bytes(4) + body
                   + addr(correspondent), hashlib.sha256).digest()[:16]
    message = head + bytes(2) + bytes(4) + body + mac
    csum = checksum(message)
    return message[:2] + struct.pack("!H", csum) + message[4:]


def send_raw_icmp(src, dst, message, ttl=64):
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0, ttl, socket.IPPROTO_ICMP, 0,
                             addr(src), addr(dst))
        s.sendto(header + message, (dst, 0))


def send_update(src, dst, home, careof, key_hex, offset_ms="0"):
    """An update from SRC (spoofed at will) to DST binding HOME to CAREOF, stamped now plus
    OFFSET_MS."""
    stamp = int(time.time() * 1000) + int(offset_ms)
    send_raw_icmp(src, dst, binding_update(key_hex, home, careof, dst, stamp))
    print("sent")
    return 0


def replay_update(pcap, dst):
    """Sends again, as captured, the first binding update to DST in PCAP."""
    for ip in packets(pcap):
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 1 or ip[16:20] != addr(dst):
            continue
        ihl = (ip[0] & 15) * 4
        if ip[ihl + 1] != 7:
            continue
        send_raw_icmp(socket.inet_ntoa(ip[12:16]), dst, ip[ihl:])
        print("replayed")
        return 0
    print("none")
    return 1


def send_with_options(bind, dst, port, mtu="1500"):
    """A DF datagram from BIND carrying record-route and timestamp options (IP_OPTIONS),
    exactly MTU octets long: it fits before the stacking option goes in, not after. The
    stack then answers FRAG_NEEDED with icmp_send(), which echoes the options it compiled
    (issue 20 item 3). Prints "sent" or "error NAME"."""
    # The empty slots hold 0xff: once the option goes in front, the stack's stale offsets
    # of RR and TS land in them and read 255 as an option's length.
    rr = bytes([7, 19, 4]) + b"\xff" * 16
    ts = bytes([68, 12, 5, 0]) + b"\xff" * 8
    options = rr + ts + bytes([0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((bind, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, options)
        s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER, IP_PMTUDISC_DO
        payload = b"\xff" * (int(mtu) - 20 - len(options) - 8)
        try:
            s.sendto(payload, (dst, int(port)))
            s.sendto(payload, (dst, int(port)))
        except OSError as e:
            # (errno.errorcode names 95 ENOTSUP, its other name on Linux.)
            name = "EOPNOTSUPP" if e.errno == errno.EOPNOTSUPP else errno.errorcode.get(e.errno)
            print(f"error {name or e.errno}")
            return 0
    print("sent")
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
    if cmd == "send-with-options":
        return send_with_options(*args[:4])
    if cmd == "send-stacked":
        return send_stacked(*args[:3])
    if cmd == "send-update":
        return send_update(*args[:6])
    if cmd == "replay-update":
        return replay_update(args[0], args[1])
    if cmd == "options":
        return options(args[0], args[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
