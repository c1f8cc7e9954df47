#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`, guest side: one switchover time on the multihomed-site topology of
selftests/sitemh_switchover.sh (H - CE1/CE2 - PE1/PE2 - X).

    switchover_time.py TLS_TOOL H_NS X_NS FAIL_NS FAIL_IF MODE [CE_NS]

A TLS transfer runs from H (198.51.100.140, provider 1) to X; then provider 1's path
fails: interface FAIL_IF of namespace FAIL_NS goes down (PE1's end of the CE1-PE1 link:
CE1 sees carrier loss; CE1's LAN interface: CE1 is gone for the site).

The switchover ends when X acknowledges a byte that H sent after the failure: every byte
in flight when the path failed has arrived, and the transfer moves again. That is the
same end for every mode. The older end, the first data segment X receives from H's
provider-2 address, means nothing when MPTCP already sends over both subflows; it is
printed for reference ("newpair"). X's acknowledgements are TCP's cumulative ACK (sitemh:
the connection is moved, its sequence numbers stay) or MPTCP's DATA_ACK; "after the
failure" is beyond the highest sequence (MPTCP: data sequence) H had sent when the
ioctl was issued, read from H's own interface.

Printed, one line:
    ok ioctl T [detect D] newpair N [event E] [request R]
T: ms from the ioctl that takes FAIL_IF down. D (with CE_NS, the carrier case): ms from
the moment that CE saw its uplink fail (the module's "uplink_failed_ns", wall clock), the
draft's "link going down at the CE": taking the PE's end of a veth down stops the CE's
carrier only after the PE's own teardown (an RCU grace period, 25-45 ms under TCG). D is
negative if the transfer resumed before the CE noticed (MPTCP does not wait for it). N:
ms to the first data from H's provider-2 address at X. R (sitemh): ms to H's first
SET_ALT_ROUTE at X. E (sitemh): ms to the CONN_MOVED event's arrival at a listener on H
(the generic netlink family sitemh; what `sitemhctl monitor` shows).
    failed REASON
a run that measured nothing: the tools did not start, MPTCP's second subflow was not
established before the failure, the CE did not see this failure, or nothing resumed
within 10 s ("timeout"). The caller counts these apart and keeps them out of the figures.

MODE "sitemh": both ends pass their TLS session and routes to the module.
MODE "mptcp": no module options; the sockets are MPTCP (the caller set up a second
subflow from H's provider-2 address). Before the failure, an established subflow from
that address must exist on H (its /proc/net/tcp: subflows are TCP sockets), or the run
fails; up to 8 s are given for it to join.
MODE "auto": stock iperf3 (TCP) instead of the TLS tool, nothing asked of the module
(the caller set net.ipv4.sitemh_lf.auto=1 on both ends).
MODE "mptcpize": stock iperf3 run under `mptcpize run` (every socket MPTCP), as "mptcp".
iperf3 opens a control connection before the measured one; the measured one is the
connection from client port IPERF_CPORT (iperf3 --cport; a random one per run), and with MPTCP also the joins
whose token is that connection's (the SHA-256 of X's key in its SYN-ACK).

The failure is one ioctl issued here, right after the clock is read; the times are the
kernel's timestamps (SO_TIMESTAMPNS; an outgoing packet's is taken when the packet
taps see it leave), so neither process start-up nor scheduling of this script is
counted.
"""
import ctypes
import fcntl
import hashlib
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "selftests"))
import sitemh_events  # noqa: E402 (the selftests' event listener: family, groups, attributes)

H1, H2, X1, X2 = "198.51.100.140", "203.0.113.140", "192.0.2.10", "192.0.2.14"
PORT = 4433
# A client port of its own per run: the last run's connection from it may linger
# (FIN_WAIT, TIME_WAIT) after its processes were killed.
IPERF_CPORT = random.randrange(40000, 50000)
CLONE_NEWNET = 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
ETH_P_ALL, ETH_P_IP = 0x0003, 0x0800
SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
PACKET_OUTGOING = 4
TCP_SYN, TCP_ACK = 0x02, 0x10
# Headers only: an IPv4 header and a TCP header with options fit.
SNAP = 256
WAIT_S = 10
# Under LAN loss (the bench's carrier10/30 rows) a join's SYN may be lost and resent
# after TCP's initial RTO of 1 s, and again after 2 s more.
JOIN_WAIT_S = 8

libc = ctypes.CDLL(None, use_errno=True)


def in_ns(ns, fn):
    """FN() run in namespace NS (the thread goes back to its own afterwards)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        with open(f"/run/netns/{ns}") as f:
            if libc.setns(f.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns {ns}")
        return fn()
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(own)


def proc_net(ns, name):
    """/proc/net/NAME of namespace NS (read here: a process costs seconds under TCG)."""
    def read():
        with open(f"/proc/thread-self/net/{name}") as f:
            return f.read()
    return in_ns(ns, read)


def sniffer(ns, ifname=None):
    """A packet socket of NS seeing packets both ways, on IFNAME or every interface
    (ETH_P_ALL: a socket of one protocol sees only what arrives). The buffer holds the
    whole transfer before the failure: the sequence H reached must not be lost to an
    overflow."""
    s = in_ns(ns, lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                        socket.htons(ETH_P_ALL)))
    if ifname:
        s.bind((ifname, ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return s


def packets(sock, timeout=0.0):
    """(frame, outgoing, stamp) of the IPv4 packets SOCK holds, waiting up to TIMEOUT s
    for the first; stops when it holds nothing more."""
    while select.select([sock], [], [], timeout)[0]:
        timeout = 0.0
        frame, anc, _, addr = sock.recvmsg(SNAP, socket.CMSG_SPACE(16))
        stamp = 0.0
        for lvl, typ, val in anc:
            if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", val[:16])
                stamp = sec + nsec / 1e9
        if addr[1] == ETH_P_IP:
            yield frame, addr[2] == PACKET_OUTGOING, stamp


def set_down(ctl, ifname):
    req = struct.pack("16sH14x", ifname.encode(), 0)
    flags = struct.unpack("16sH14x", fcntl.ioctl(ctl, SIOCGIFFLAGS, req))[1]
    fcntl.ioctl(ctl, SIOCSIFFLAGS, struct.pack("16sH14x", ifname.encode(), flags & ~IFF_UP))


def uplink_failed_at(ns):
    """When the CE in namespace NS last saw its uplink fail (s, wall clock; 0: never)."""
    for line in proc_net(ns, "sitemh").splitlines():
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


class Segment:
    """An IPv4 TCP segment's header fields (payload: the octets of data it carries)."""

    def __init__(self, frame):
        ihl = (frame[0] & 0xF) * 4
        self.src, self.dst = frame[12:16], frame[16:20]
        (self.sport, self.dport, self.seq, self.ack, off,
         self.flags) = struct.unpack("!HHIIBB", frame[ihl:ihl + 14])
        doff = (off >> 4) * 4
        self.payload = struct.unpack("!H", frame[2:4])[0] - ihl - doff
        self.options = frame[ihl + 20:ihl + doff]


def segment(frame):
    if len(frame) < 40 or frame[0] >> 4 != 4 or frame[9] != socket.IPPROTO_TCP:
        return None
    if len(frame) < (frame[0] & 0xF) * 4 + 20:
        return None
    return Segment(frame)


def mp_option(options, subtype):
    """The octets after kind and length of the MPTCP option of SUBTYPE (0 MP_CAPABLE,
    1 MP_JOIN) in OPTIONS, or None."""
    i = 0
    while i + 1 < len(options):
        kind, n = options[i], options[i + 1]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if n < 2:
            break
        if kind == 30 and n >= 3 and options[i + 2] >> 4 == subtype:
            return options[i + 2:i + n]
        i += n
    return None


def dss(options):
    """MPTCP's DSS option in OPTIONS: (DATA_ACK, mapping end), each (value, 64-bit) or
    None."""
    body = mp_option(options, 2)
    if body is None or len(body) < 2:
        return None, None
    flags, j = body[1], 2
    ack = end = None
    if flags & 0x01:
        w = 8 if flags & 0x02 else 4
        ack = (int.from_bytes(body[j:j + w], "big"), w == 8)
        j += w
    if flags & 0x04:
        w = 8 if flags & 0x08 else 4
        dsn = int.from_bytes(body[j:j + w], "big")
        length = int.from_bytes(body[j + w + 4:j + w + 6], "big")
        if length:
            end = (dsn + length, w == 8)
    return ack, end


def beyond(a, b):
    """Whether sequence A is past B; each (value, 64-bit). 32-bit values compare modulo
    2^32, as TCP does."""
    if a[1] and b[1]:
        return a[0] > b[0]
    d = (a[0] - b[0]) & 0xFFFFFFFF
    return 0 < d < 1 << 31


class Transfer:
    """The transfer as the sniffers see it: its ports (the connection's, and with MPTCP
    the joins'), the highest (data) sequence H had sent when the failure came, and the
    highest X received over provider 1 (from H1) at any time."""

    def __init__(self, mptcp, cport=None):
        self.mptcp = mptcp
        self.cport = cport
        self.ports = {cport} if cport else set()
        self.token = None
        self.mark = None
        self.p1_mark = None

    def incoming(self, frame):
        """FRAME reached H: with MPTCP and a known client port, the SYN-ACK of the
        measured connection gives its token (the joins name it)."""
        seg = segment(frame)
        if (seg is None or not self.mptcp or self.cport is None or seg.sport != PORT
                or seg.dport != self.cport or seg.flags & (TCP_SYN | TCP_ACK) != TCP_SYN | TCP_ACK):
            return
        key = mp_option(seg.options, 0)
        if key is not None and len(key) >= 10:
            self.token = hashlib.sha256(key[2:10]).digest()[:4]

    def end(self, seg):
        """The (data) sequence after SEG's data, or None."""
        if seg.payload <= 0:
            return None
        if self.mptcp:
            return dss(seg.options)[1]
        return ((seg.seq + seg.payload) & 0xFFFFFFFF, False)

    def outgoing(self, frame):
        """FRAME left H before the failure."""
        seg = segment(frame)
        if seg is None or seg.dport != PORT:
            return
        if seg.flags & TCP_SYN and not seg.flags & TCP_ACK:
            if self.cport is not None:
                # The measured connection's port is known; MPTCP: its joins.
                join = mp_option(seg.options, 1)
                if join is not None and len(join) >= 6 and join[2:6] == self.token:
                    self.ports.add(seg.sport)
                return
            # One connection per run: its SYN, then (MPTCP) the joins' SYNs.
            if self.mptcp or not self.ports:
                self.ports.add(seg.sport)
            return
        end = self.end(seg) if seg.sport in self.ports else None
        if end is not None and (self.mark is None or beyond(end, self.mark)):
            self.mark = end

    def arrived(self, frame):
        """FRAME reached X: what came over provider 1 raises its mark. A path that fails
        still passes packets for a while (a veth end going down stays up for an RCU grace
        period), and what it delivered is no switchover."""
        seg = segment(frame)
        if (seg is None or seg.dport != PORT or seg.sport not in self.ports
                or seg.src != socket.inet_aton(H1)):
            return
        end = self.end(seg)
        if end is not None and (self.p1_mark is None or beyond(end, self.p1_mark)):
            self.p1_mark = end

    def resumed(self, frame):
        """Whether FRAME, leaving X, acknowledges a byte past both marks: sent after the
        failure, and never seen on provider 1."""
        seg = segment(frame)
        if seg is None or seg.sport != PORT or seg.dport not in self.ports:
            return False
        if self.mptcp:
            ack = dss(seg.options)[0]
        else:
            ack = (seg.ack, False) if seg.flags & TCP_ACK else None
        return (ack is not None and beyond(ack, self.mark)
                and (self.p1_mark is None or beyond(ack, self.p1_mark)))


def subflow_up(h, ports):
    """Whether H has an established TCP socket (an MPTCP subflow) from its provider-2
    address on one of PORTS."""
    addr = "%08X" % struct.unpack("<I", socket.inet_aton(H2))[0]
    for line in proc_net(h, "tcp").splitlines()[1:]:
        f = line.split()
        local, port = f[1].split(":")
        if local == addr and int(port, 16) in ports and f[3] == "01":
            return True
    return False


def wait_line(proc, word, timeout):
    """Whether PROC prints a line starting with WORD within TIMEOUT s (what it printed
    instead goes to stderr). Reads the pipe's descriptor itself: a buffered reader could
    hold the line asked for while select() sees nothing more to read (iperf3 prints its
    "Server listening" line right after another)."""
    end = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    pending = getattr(proc, "pending", b"")
    while True:
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            text = line.decode(errors="replace")
            if text.startswith(word):
                proc.pending = pending
                return True
            print(f"# {text.rstrip()}", file=sys.stderr)
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        pending += chunk
    proc.pending = pending
    return False


class MovedEvent(threading.Thread):
    """Listens to H's events (generic netlink family sitemh, group "events") and stamps
    the arrival of the first CONN_MOVED with the wall clock: when a monitor hears of the
    move (netlink has no receive timestamps)."""

    CONN_MOVED = sitemh_events.EVENTS.index("conn_moved")

    def __init__(self, h):
        super().__init__(daemon=True)
        self.sock = in_ns(h, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                                   sitemh_events.NETLINK_GENERIC))
        self.family, groups = sitemh_events.resolve(self.sock)
        self.sock.setsockopt(sitemh_events.SOL_NETLINK, sitemh_events.NETLINK_ADD_MEMBERSHIP,
                             groups["events"])
        self.moved = None

    def run(self):
        while self.moved is None:
            data = self.sock.recv(65536)
            at = time.clock_gettime(time.CLOCK_REALTIME)
            while len(data) >= 20 and self.moved is None:
                length, kind = struct.unpack_from("=IH", data)
                if kind == self.family:
                    for akind, value in sitemh_events.attrs(data[20:length]):
                        if akind == 1 and value[:1] == bytes([self.CONN_MOVED]):
                            self.moved = at
                data = data[(length + 3) & ~3:]


def measure(tls, h, x, fail_ns, fail_if, mode, ce):
    """The result line of one run."""
    mptcp = mode in ("mptcp", "mptcpize")
    iperf = mode in ("auto", "mptcpize")
    at_h = sniffer(h, "h-b")
    at_x = sniffer(x)
    ctl = in_ns(fail_ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    transfer = Transfer(mptcp, IPERF_CPORT if iperf else None)
    if iperf:
        wrap = ["mptcpize", "run"] if mptcp else []
        server_cmd = [*wrap, "iperf3", "-s", "-1", "-B", X1, "-p", str(PORT), "--forceflush"]
        client_cmd = [*wrap, "iperf3", "-c", X1, "-B", H1, "--cport", str(IPERF_CPORT),
                      "-p", str(PORT), "-t", "60", "-b", "20M", "--forceflush"]
        server_ready, client_ready = "Server listening", "[  5] local"
    else:
        flags = ["-u", "-m"] if mptcp else ["-3"]
        routes_x = [f"{X1},{H1}", f"{X2},{H1}", f"{X1},{H2}", f"{X2},{H2}"]
        routes_h = [f"{H1},{X1}", f"{H1},{X2}", f"{H2},{X1}", f"{H2},{X2}"]
        server_cmd = [tls, "server", *flags, X1, str(PORT), *routes_x]
        client_cmd = [tls, "client", *flags, "-r", "20000", H1, X1, str(PORT), str(1 << 30),
                      *routes_h]
        server_ready, client_ready = "listening", "ready"
    server = subprocess.Popen(["ip", "netns", "exec", x, *server_cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    client = None
    try:
        if not wait_line(server, server_ready, 10):
            return "failed error (server)"
        client = subprocess.Popen(["ip", "netns", "exec", h, *client_cmd],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if not wait_line(client, client_ready, 20):
            return "failed error (client)"
        time.sleep(0.5)  # the transfer under way
        join_end = time.monotonic() + JOIN_WAIT_S
        while True:
            for frame, out, _ in packets(at_h):
                if out:
                    transfer.outgoing(frame)
                else:
                    transfer.incoming(frame)
            # The first subflow is H1's: one from H2 on the transfer's ports is a join.
            if not mptcp or subflow_up(h, transfer.ports):
                break
            if time.monotonic() > join_end:
                return "failed no second subflow"
            time.sleep(0.1)
        for frame, out, _ in packets(at_x):
            if not out:
                transfer.arrived(frame)
        moved = None
        if not mptcp:
            moved = MovedEvent(h)
            moved.start()
        # Whatever H sent until here is read right after the failure, by its timestamp.
        t0 = time.clock_gettime(time.CLOCK_REALTIME)
        set_down(ctl, fail_if)
        for frame, out, stamp in packets(at_h):
            if out and stamp < t0:
                transfer.outgoing(frame)
            elif not out:
                transfer.incoming(frame)
        if transfer.mark is None:
            return "failed error (no data before the failure)"
        end = time.monotonic() + WAIT_S
        newpair = request = ""
        while time.monotonic() < end:
            for frame, out, stamp in packets(at_x, max(0.0, end - time.monotonic())):
                if not out:
                    transfer.arrived(frame)
                if stamp < t0:
                    continue
                ms = (stamp - t0) * 1000
                if out:
                    if transfer.resumed(frame):
                        break
                elif not request and set_alt_route_from(frame, H2):
                    request = f" request {ms:.1f}"
                elif not newpair and frame[12:16] == socket.inet_aton(H2):
                    seg = segment(frame)
                    if seg is not None and seg.payload > 0:
                        newpair = f" newpair {ms:.1f}"
            else:
                continue
            break
        else:
            return "failed timeout"
        line = f"ok ioctl {ms:.1f}"
        if ce is not None:
            seen = uplink_failed_at(ce)
            if seen < t0:
                return f"failed the CE did not see this failure (at {seen}, the ioctl at {t0})"
            line += f" detect {(stamp - seen) * 1000:.1f}"
        line += newpair or " newpair -"
        if moved is not None:
            moved.join(timeout=1.0)
            line += f" event {(moved.moved - t0) * 1000:.1f}" if moved.moved else " event -"
        return line + request
    finally:
        for p in (client, server):
            if p is not None:
                p.send_signal(signal.SIGKILL)
                p.wait()


def main():
    tls, h, x, fail_ns, fail_if, mode = sys.argv[1:7]
    ce = sys.argv[7] if len(sys.argv) > 7 else None
    line = measure(tls, h, x, fail_ns, fail_if, mode, ce)
    print(line)
    return 0 if line.startswith("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
