#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unprivileged reach of sitemh: run by sitemh_unpriv.sh as uid 65534 inside its own user
and network namespace (unshare --user --map-root-user --net), where it owns the sysctls
and the hooks, it drives every sitemh sysctl, every SITEMH_SO_* socket option and every
packet type the module parses with boundary and random values.

It checks that the calls come back (an errno is fine: refusals are not asserted, so the
test holds while the knobs' rules change) and that a valid configuration does take effect
in the namespace, so that the hooks are registered and the packets reach them. The shell
script checks the kernel log, the initial namespace's state and the teardown.

Prints one "RESULT<TAB>OK|FAIL<TAB>name<TAB>detail" line per phase, and "# " lines.
Standard library only (the guest runs the host's python3).

usage: sitemh_unpriv.py [ITERATIONS [SEED]]
"""

import ctypes
import errno
import fcntl
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import time

ITERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
rng = random.Random(SEED)
IP = shutil.which("ip") or "/usr/sbin/ip"

SYS = "/proc/sys/net/"
TEXT_MAX = 128  # the module's sysctl text buffer (rust/ffi/sysctl.rs)
SO_BASE = 0x5348
SO_PAIRS, SO_LFROUTES, SO_SEQPARAM, SO_LFSTAT, SO_SRCADDRS, SO_CAREOF = (
    SO_BASE + i for i in (0, 1, 2, 3, 4, 5))
SOL_IP, SOL_IPV6 = 0, 41
ICMP_TYPE, ICMP6_TYPE = 41, 200

# The namespace's site: smtun0 (TUN) carries domain 0 (10.1.0.0/24, router 10.1.0.1) and
# the private domain 1 (10.2.0.0/24); IPv6 domain 2001:db8:1::/64 (router ::1). The
# home addresses are on lo; the care-of addresses on smtun0.
LOCAL4, ROUTER4, PEER4, FAR4 = "10.1.0.2", "10.1.0.1", "10.1.0.50", "198.51.100.9"
LOCAL6, ROUTER6, PEER6, FAR6 = "2001:db8:1::2", "2001:db8:1::1", "2001:db8:1::50", "2001:db8:ff::9"
HOME4, HOME6 = "100.64.0.5", "2001:db8:aa::5"

VALID = [
    ("ipv4/ip_num_domains", "2"),
    ("ipv4/ip_domain/0/net_mask", "/24"),
    ("ipv4/ip_domain/0/net_addr", "10.1.0.0"),
    ("ipv4/ip_domain/0/def_router", ROUTER4),
    ("ipv4/ip_domain/1/net_mask", "255.255.255.0"),
    ("ipv4/ip_domain/1/net_addr", "10.2.0.0"),
    ("ipv4/ip_domain/1/def_router", "0.0.0.0"),
    ("ipv4/ip_path_probe_ms", "0"),
    ("ipv6/ip_num_domains", "1"),
    ("ipv6/ip_domain/0/net_mask", "/64"),
    ("ipv6/ip_domain/0/net_addr", "2001:db8:1::"),
    ("ipv6/ip_domain/0/def_router", ROUTER6),
    ("ipv6/ip_path_probe_ms", "0"),
]
# Wanted, but the knobs may be refused (the home features are changing under review).
WANTED = [
    ("ipv4/ip_home_addr", HOME4),
    ("ipv6/ip_home_addr", HOME6),
    ("ipv4/sitemh_home/careof_addr", LOCAL4),
    ("ipv6/sitemh_home/careof_addr", LOCAL6),
    ("ipv4/sitemh_home/correspondent", "1"),
    ("ipv6/sitemh_home/correspondent", "1"),
    ("ipv4/ip_use_homeaddr", "1"),
    # Calm CE timers: random values may have set them to 1 ms.
    ("ipv4/sitemh_ce/keepalive_ms", "1000"),
    ("ipv4/sitemh_ce/pe_probe_ms", "1000"),
    ("ipv4/sitemh_ce/repeat_ms", "200"),
    ("ipv4/sitemh_ce/refresh_ms", "10000"),
]

counts = {}
failures = []


def count(what, n=1):
    counts[what] = counts.get(what, 0) + n


def result(name, ok, detail=""):
    print(f"RESULT\t{'OK' if ok else 'FAIL'}\t{name}\t{detail}", flush=True)
    if not ok:
        failures.append(name)


def note(text):
    print(f"# {text}", flush=True)


def run(*args):
    return subprocess.run([IP, *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)


# --- sysctl ------------------------------------------------------------------------------

def write(path, data, offset=None):
    """Writes `data` to sysctl file `path`; returns 0 or the errno."""
    if isinstance(data, str):
        data = data.encode()
    try:
        fd = os.open(path if path.startswith("/") else SYS + path, os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        if offset is None:
            os.write(fd, data)
        else:
            os.pwrite(fd, data, offset)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def read(path, size=4096, offset=0):
    try:
        fd = os.open(path if path.startswith("/") else SYS + path, os.O_RDONLY)
    except OSError as e:
        return e.errno
    try:
        os.pread(fd, size, offset)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def configure():
    """The valid configuration; returns the writes that failed."""
    failed = [(k, v, errno.errorcode.get(e, e)) for k, v in VALID if (e := write(k, v))]
    for k, v in WANTED:
        e = write(k, v)
        if e:
            note(f"{k} = {v}: {errno.errorcode.get(e, e)}")
    return failed


def sitemh_files():
    """Every sitemh sysctl of this namespace (with 16 domains of each family)."""
    files = []
    for fam in ("ipv4", "ipv6"):
        base = SYS + fam
        for name in ("ip_num_domains", "ip_use_homeaddr", "ip_home_addr", "ip_path_probe_ms",
                     "ip_domain_table"):
            if os.path.exists(f"{base}/{name}"):
                files.append(f"{base}/{name}")
        for entry in sorted(os.listdir(base)):
            if entry.startswith("sitemh_") and os.path.isfile(f"{base}/{entry}"):
                files.append(f"{base}/{entry}")
            elif entry == "ip_domain" or entry.startswith("sitemh_"):
                for root, _, names in os.walk(f"{base}/{entry}"):
                    files += [f"{root}/{n}" for n in sorted(names)]
    return files


def rand_addr4():
    return ".".join(str(rng.choice([0, 1, 10, 127, 255, 224, 169, rng.randrange(256)]))
                    for _ in range(4))


def rand_addr6():
    groups = [rng.choice(["0", "1", "fe80", "ff02", "2001", "db8", "ffff",
                          f"{rng.randrange(65536):x}"]) for _ in range(8)]
    text = ":".join(groups)
    if rng.random() < 0.5:
        a = rng.randrange(8)
        b = rng.randrange(a, 9)
        text = ":".join(groups[:a]) + "::" + ":".join(groups[b:])
    return text


BOUNDARY = [
    b"", b"\n", b" ", b"0", b"1", b"2", b"-1", b"16", b"17", b"41", b"42", b"43", b"200",
    b"255", b"256", b"65535", b"65536", b"2147483647", b"2147483648", b"4294967295",
    b"4294967296", b"999999999", b"1000000000", b"10000", b"10001", b"18446744073709551616",
    b"0x10", b" 1", b"1 ", b"01", b"+1", b"1\n2", b"1\x002",
    b"192.0.2.1", b"0.0.0.0", b"255.255.255.255", b"1.2.3", b"1.2.3.4.5", b"256.1.1.1",
    b"01.2.3.4", b"127.0.0.1", b"224.0.0.1", b"169.254.1.1", b"0.1.2.3", b"10.1.0.2",
    b"10.1.0.0", b"100.64.0.5", b"/0", b"/1", b"/24", b"/32", b"/33", b"/64", b"/128",
    b"/129", b"/-1", b"/", b"//1", b"/0001", b"255.0.255.0", b"255.255.255.254",
    b"::", b"::1", b"::ffff:10.1.0.2", b"::10.1.0.2", b"fe80::1", b"fe80::1%lo",
    b"fe80::1%smtun0", b"fe80::1%", b"fe80::1%%", b"fe80::1%" + b"x" * 15,
    b"fe80::1%" + b"x" * 16, b"fe80::1%" + b"x" * 100, b"2001:db8::1", b"2001:db8:1::",
    b"1:2:3:4:5:6:7:8", b"1:2:3:4:5:6:7:8:9", b":::", b"1::2::3", b"ff02::1",
    b"ffff:ffff:ffff:ffff::", b"ffff:0:ffff::",
    b"lo", b"smtun0", b"smdum0", b"nonexistent0", b"x" * 15, b"x" * 16, b"lo lo",
    b"10.1.0.1 10.1.0.3", b"10.1.0.1,10.1.0.3", b"2001:db8:1::1 fe80::1%smtun0",
    b"\x00", b"\xff\xfe\xfd", "é".encode(),
]
# Lengths around the text buffer's size, and huge ones: written into every knob.
LENGTHS = [b"", b"1"]
for _n in (TEXT_MAX - 2, TEXT_MAX - 1, TEXT_MAX, TEXT_MAX + 1, 4096, 1 << 20):
    LENGTHS.append((b"10.1.0.3 " * (_n // 9 + 1))[:_n])
for _n in (TEXT_MAX - 1, TEXT_MAX, 4097, 65536):
    BOUNDARY.append(b"1" * _n)
# Each knob gets every SAMPLE-th boundary value (a different slice per knob).
SAMPLE = 6


def rand_value():
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice(BOUNDARY)
    if kind == 1:
        return bytes(rng.randrange(256) for _ in range(rng.choice([1, 4, 16, 127, 129, 300])))
    if kind == 2:
        return str(rng.choice([rng.randrange(20), rng.randrange(1 << 33), -rng.randrange(9)])).encode()
    if kind == 3:
        return rand_addr4().encode()
    if kind == 4:
        return rand_addr6().encode() + rng.choice([b"", b"%lo", b"%smtun0", b"%x"])
    if kind == 5:
        return b" ".join(rand_addr4().encode() for _ in range(rng.randrange(40)))
    return rng.choice([b"/", b""]) + str(rng.randrange(140)).encode()


def exercise(path, value):
    e = write(path, value)
    count("sysctl writes")
    count("sysctl accepted" if e == 0 else "sysctl refused")
    if e not in (0, errno.EINVAL, errno.EPERM, errno.ENOENT, errno.ENODEV, errno.ERANGE,
                 errno.EBUSY, errno.EADDRNOTAVAIL, errno.EOVERFLOW, errno.E2BIG,
                 errno.ENOMEM, errno.ENOSPC, errno.EFAULT, errno.EOPNOTSUPP):
        count(f"sysctl errno {errno.errorcode.get(e, e)}")
    read(path)
    return e


def partial_writes(path):
    """Writes at an offset, and one value in two writes on the same descriptor."""
    for data, offset in ((b"1", 1), (b"10.1.0.0", rng.choice([3, 4096, 1 << 20]))):
        write(path, data, offset)
        count("sysctl partial writes")
    try:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, b"10.1.")
            os.write(fd, b"0.0\n")
        finally:
            os.close(fd)
    except OSError:
        pass
    count("sysctl partial writes")
    for size, offset in ((1, 0), (4096, 2), (16, 4096)):
        read(path, size, offset)


def sysctl_phase():
    for fam in ("ipv4", "ipv6"):
        write(f"{fam}/ip_num_domains", "16")
    files = sitemh_files()
    names = {f.split("/net/")[1] for f in files}
    need = {"ipv4/ip_num_domains", "ipv6/ip_num_domains", "ipv4/ip_domain/15/def_router",
            "ipv6/ip_domain/15/net_addr", "ipv4/ip_home_addr", "ipv4/sitemh_ce/peers",
            "ipv4/sitemh_lf/retries", "ipv4/sitemh_home/correspondent",
            "ipv4/ip_domain_table", "ipv6/ip_domain_table", "ipv6/sitemh_auto"}
    missing = sorted(need - names)
    result("sysctl: the namespace has every sitemh knob", not missing,
           f"{len(files)} files" + (f", missing {missing}" if missing else ""))

    # Into one domain of each family (the 16 share their code) and every other knob: the
    # lengths around the buffer's size and a sample of the boundary table (all of it over
    # the knobs together); ip_num_domains last, as it removes nodes.
    domain = [f for f in files if "/ip_domain/0/" in f]
    others = [f for f in files if "/ip_domain/" not in f and not f.endswith("ip_num_domains")]
    counts_files = [f for f in files if f.endswith("ip_num_domains")]
    for i, path in enumerate(domain + others + counts_files):
        sample = LENGTHS + BOUNDARY[i % SAMPLE::SAMPLE] + rng.sample(BOUNDARY, 4)
        for value in sample:
            if exercise(path, value) == 0 and path.endswith("ip_num_domains"):
                write(path, "16")
        partial_writes(path)
        if path.endswith("ip_path_probe_ms"):
            write(path, "0")
    configure()
    for fam in ("ipv4", "ipv6"):
        write(f"{fam}/ip_num_domains", "16")
    files = sitemh_files()
    for _ in range(ITERS * 3 if files else 0):
        path = rng.choice(files)
        if rng.random() < 0.1:
            partial_writes(path)
        else:
            exercise(path, rand_value())
    for fam in ("ipv4", "ipv6"):
        write(f"{fam}/ip_path_probe_ms", "0")
    result("sysctl: boundary and random values come back with an errno or take effect", True,
           ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k.startswith("sysctl")))


# --- socket options ----------------------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
for _f in (libc.getsockopt, libc.setsockopt):
    _f.restype = ctypes.c_int
libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                            ctypes.POINTER(ctypes.c_int)]
libc.setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                            ctypes.c_int]

# A page whose next page is not mapped: buffers that run off its end make the kernel's
# copies fault.
PAGE = 4096
_guard = libc.mmap(None, 2 * PAGE, 3, 0x22, -1, 0)  # PROT_READ|WRITE, PRIVATE|ANONYMOUS
if _guard in (None, ctypes.c_void_p(-1).value):
    raise OSError(ctypes.get_errno(), "mmap")
libc.mprotect(_guard + PAGE, PAGE, 0)


def sockopt(fd, get, level, name, data, optlen=None, where="buffer"):
    """One getsockopt/setsockopt with `data` in a buffer of at least `optlen` octets
    (`where`: "buffer", "null" or "edge": the data ends at an unmapped page)."""
    optlen = len(data) if optlen is None else optlen
    if where == "null":
        ptr, keep = None, None
    elif where == "edge":
        data = data[:PAGE]
        ptr = _guard + PAGE - len(data)
        ctypes.memmove(ptr, data, len(data))
        keep = None
    else:
        keep = ctypes.create_string_buffer(data, max(optlen, len(data), 1) + 16)
        ptr = ctypes.addressof(keep)
    if get:
        length = ctypes.c_int(optlen)
        r = libc.getsockopt(fd, level, name, ptr, ctypes.byref(length))
    else:
        r = libc.setsockopt(fd, level, name, ptr, optlen)
    e = ctypes.get_errno() if r < 0 else 0
    count(f"sockopt {'get' if get else 'set'} {'ok' if r >= 0 else errno.errorcode.get(e, e)}")
    del keep
    return e


def addr_bytes(text):
    return socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)


INTERESTING4 = [LOCAL4, ROUTER4, PEER4, FAR4, HOME4, "10.2.0.2", "10.2.0.9", "0.0.0.0",
                "127.0.0.1", "255.255.255.255", "224.0.0.1", "169.254.0.1", "100.64.0.6"]
INTERESTING6 = [LOCAL6, ROUTER6, PEER6, FAR6, HOME6, "::", "::1", "fe80::1", "ff02::1",
                "::ffff:10.1.0.2", "::10.1.0.2", "fc00::1", "2001:db8:aa::6"]


def rand_addr(v6):
    if rng.random() < 0.7:
        return addr_bytes(rng.choice(INTERESTING6 if v6 else INTERESTING4))
    return os.urandom(16 if v6 else 4)


def option_values(name, v6):
    """(natural size, [values]) of option `name` for a family."""
    alen = 16 if v6 else 4
    addr = lambda: rand_addr(v6)
    if name == SO_PAIRS:
        size = 16 + 16 * alen
        values = []
        for ndst in (0, 1, 2, 16, 17, 0xFFFFFFFF, rng.randrange(1 << 32)):
            head = struct.pack("=IIII", ndst, rng.randrange(3), 0, rng.randrange(3))
            values.append(head + b"".join(addr() for _ in range(16)))
        return size + 4 * (2 * alen + 24), values
    if name == SO_SRCADDRS:
        size = 8 + alen + 16 * alen
        return size, [struct.pack("=II", 0, 0) + addr() + bytes(16 * alen) for _ in range(3)]
    if name == SO_CAREOF:
        return 2 * alen, [addr() + addr() for _ in range(4)] + [addr() + bytes(alen)]
    if name == SO_LFROUTES:
        values = []
        for n in (1, 2, 16, 17):
            values.append(b"".join(addr() + addr() for _ in range(n)))
        local = addr_bytes(LOCAL6 if v6 else LOCAL4)
        values.append(b"".join(local + addr() for _ in range(3)))
        return 2 * alen * 2, values
    if name == SO_SEQPARAM:
        values = []
        for form in (0, 1, 2, 3, 255):
            for entity in (0, 1, 2):
                values.append(bytes([form, entity, 0, rng.choice([0, 0, 1])]) + os.urandom(152))
        return 156, values
    if name == SO_LFSTAT:
        return 4, [struct.pack("=i", v) for v in (0, 1, 2, -1, 0x7FFFFFFF)]
    return 8, [os.urandom(rng.choice([1, 8, 64]))]


def lengths(size):
    return sorted({0, 1, max(size - 1, 0), size, size + 1, 4096, 65536})


def sockets():
    """TCP, UDP and raw sockets of both families in the states the options care about."""
    socks = []

    def add(fam, kind, proto=0, bind=None, connect=None, listen=False, name=""):
        try:
            s = socket.socket(fam, kind, proto)
            if bind:
                s.bind(bind)
            if listen:
                s.listen(4)
            if connect:
                s.setblocking(False)
                try:
                    s.connect(connect)
                except BlockingIOError:
                    pass
            socks.append((name, s))
            return s
        except OSError as e:
            note(f"socket {name}: {e}")
            return None

    A4, A6 = socket.AF_INET, socket.AF_INET6
    add(A4, socket.SOCK_STREAM, name="tcp4")
    add(A6, socket.SOCK_STREAM, name="tcp6")
    lst4 = add(A4, socket.SOCK_STREAM, bind=(LOCAL4, 0), listen=True, name="tcp4-listen")
    lst6 = add(A6, socket.SOCK_STREAM, bind=(LOCAL6, 0), listen=True, name="tcp6-listen")
    if lst4:
        add(A4, socket.SOCK_STREAM, bind=(LOCAL4, 0), connect=lst4.getsockname(), name="tcp4-conn")
    if lst6:
        add(A6, socket.SOCK_STREAM, bind=(LOCAL6, 0), connect=lst6.getsockname()[:2], name="tcp6-conn")
    add(A4, socket.SOCK_STREAM, bind=(LOCAL4, 0), connect=(FAR4, 7000), name="tcp4-far")
    add(A4, socket.SOCK_DGRAM, name="udp4")
    add(A6, socket.SOCK_DGRAM, name="udp6")
    add(A4, socket.SOCK_DGRAM, bind=(LOCAL4, 5000), connect=(FAR4, 7000), name="udp4-conn")
    add(A6, socket.SOCK_DGRAM, bind=(LOCAL6, 5000), connect=(FAR6, 7000), name="udp6-conn")
    add(A4, socket.SOCK_DGRAM, bind=(HOME4, 5001), connect=(PEER4, 7001), name="udp4-home")
    add(A6, socket.SOCK_DGRAM, connect=("::ffff:" + FAR4, 7002), name="udp6-mapped")
    add(A4, socket.SOCK_RAW, socket.IPPROTO_ICMP, name="raw4-icmp")
    add(A4, socket.SOCK_RAW, socket.IPPROTO_RAW, name="raw4-raw")
    add(A6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6, name="raw6-icmp")
    add(A6, socket.SOCK_RAW, 253, name="raw6-exp")
    return socks


OPTNAMES = list(range(SO_BASE - 1, SO_BASE + 17))
KNOWN = (SO_PAIRS, SO_LFROUTES, SO_SEQPARAM, SO_LFSTAT, SO_SRCADDRS, SO_CAREOF)


def sockopt_phase(socks):
    for name, s in socks:
        fd = s.fileno()
        for level in (SOL_IP, SOL_IPV6):
            for opt in OPTNAMES:
                size, values = option_values(opt, level == SOL_IPV6)
                if opt not in KNOWN:
                    # Numbers in sitemh's range that name no option.
                    for get in (True, False):
                        sockopt(fd, get, level, opt, values[0])
                    continue
                for value in values[:2]:
                    for optlen in lengths(size):
                        data = (value * (optlen // max(len(value), 1) + 1))[:optlen]
                        for get in (True, False):
                            sockopt(fd, get, level, opt, data)
                # Lengths the user copy must refuse or fault on.
                for get in (True, False):
                    sockopt(fd, get, level, opt, b"", optlen=-1)
                    sockopt(fd, get, level, opt, b"", optlen=size, where="null")
                    for tail in (1, size - 1, size):
                        sockopt(fd, get, level, opt, values[0][:max(tail, 0)], optlen=size,
                                where="edge")
    for _ in range(ITERS * 5):
        name, s = rng.choice(socks)
        level = rng.choice((SOL_IP, SOL_IPV6))
        opt = rng.choice(OPTNAMES)
        size, values = option_values(opt, level == SOL_IPV6)
        value = rng.choice(values)
        optlen = rng.choice(lengths(size) + [rng.randrange(2 * size + 2)])
        value = bytearray((value * (optlen // max(len(value), 1) + 1))[:optlen])
        for _ in range(rng.randrange(4)):
            if value:
                value[rng.randrange(len(value))] = rng.randrange(256)
        sockopt(s.fileno(), rng.random() < 0.5, level, opt, bytes(value))
    # Selection with echo probes on (a short wait).
    for fam in ("ipv4", "ipv6"):
        write(f"{fam}/ip_path_probe_ms", "20")
    for name, s in socks[:6]:
        for level, v6 in ((SOL_IP, False), (SOL_IPV6, True)):
            _, values = option_values(SO_PAIRS, v6)
            sockopt(s.fileno(), True, level, SO_PAIRS, values[2], optlen=len(values[2]) + 512)
    for fam in ("ipv4", "ipv6"):
        write(f"{fam}/ip_path_probe_ms", "0")
    result("sockopt: every SITEMH_SO_* get and set comes back", True,
           ", ".join(f"{k.split(' ', 1)[1]} {v}" for k, v in sorted(counts.items())
                     if k.startswith("sockopt")))


def keyed_connections(socks):
    """Keys and routes on the connected sockets, so sealed messages reach AES-GCM."""
    params = bytes([2, 1, 0, 0]) + bytes(48 + 64) + bytes(range(40))
    done = 0
    for name, s in socks:
        if not name.endswith("-conn") and name != "udp4-home":
            continue
        v6 = s.family == socket.AF_INET6
        level = SOL_IPV6 if v6 else SOL_IP
        local = addr_bytes(LOCAL6 if v6 else LOCAL4)
        routes = local + addr_bytes(FAR6 if v6 else FAR4) + local + addr_bytes(PEER6 if v6 else PEER4)
        ok = sockopt(s.fileno(), False, level, SO_LFROUTES, routes) == 0
        ok &= sockopt(s.fileno(), False, level, SO_SEQPARAM, params) == 0
        done += ok
    return done


# --- packets -----------------------------------------------------------------------------

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, ttl=64, options=b"", ihl=None, total=None, df=False):
    options += b"\0" * (-len(options) % 4)
    ihl = 5 + len(options) // 4 if ihl is None else ihl
    total = 20 + len(options) + len(payload) if total is None else total
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 0xF), 0, total & 0xFFFF,
                       rng.randrange(65536), 0x4000 if df else 0, ttl, proto, 0,
                       addr_bytes(src), addr_bytes(dst)) + options
    head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
    return head + payload


def ip6(src, dst, next_header, payload, hops=64, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", 0x60000000, plen & 0xFFFF, next_header, hops,
                       addr_bytes(src), addr_bytes(dst)) + payload


def icmp(type_, code, body, good=True):
    msg = bytes([type_, code, 0, 0]) + body
    csum = checksum(msg) if good else rng.randrange(65536)
    return msg[:2] + struct.pack("!H", csum) + msg[4:]


def icmp6(src, dst, type_, code, body, good=True):
    msg = bytes([type_, code, 0, 0]) + body
    pseudo = addr_bytes(src) + addr_bytes(dst) + struct.pack("!I", len(msg)) + b"\0\0\0\x3a"
    csum = checksum(pseudo + msg) if good else rng.randrange(65536)
    return msg[:2] + struct.pack("!H", csum) + msg[4:]


def udp(sport, dport, data=b"x"):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp_syn(sport, dport):
    return struct.pack("!HHIIBBHHH", sport, dport, rng.randrange(1 << 32), 0, 0x50, 0x02,
                       65535, 0, 0)


class Tun:
    def __init__(self, name):
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))

    def send(self, packet):
        try:
            os.write(self.fd, packet)
            count("packets injected")
        except OSError as e:
            count(f"packets refused by tun {errno.errorcode.get(e.errno, e.errno)}")
        if counts.get("packets injected", 0) % 64 == 0:
            self.drain()

    def drain(self):
        try:
            while os.read(self.fd, 65536):
                count("packets out")
        except OSError:
            pass


def stacking_options():
    """IPv4 options carrying 144 in every layout and length, and neighbours."""
    home = addr_bytes(HOME4)
    peer = addr_bytes("100.65.0.7")
    out = []
    for stype in (0, 1, 2, 3, 255):
        out.append(bytes([144, stype, 0, 0]) + peer + home)
        out.append(bytes([144, 8 if stype < 2 else 12, stype, 0]) + peer + home)
    for length in range(0, 41):
        out.append(bytes([144]) + bytes(rng.randrange(256) for _ in range(max(length - 1, 0))))
        out.append((bytes([1] * rng.randrange(4)) + bytes([144, rng.randrange(4), 0, 0]) +
                    os.urandom(8))[:length])
    out.append(bytes([7, 11, 4]) + bytes(8) + bytes([144, 1, 0, 0]) + peer)  # RR, then 144
    out.append(bytes([68, 12, 5, 0]) + bytes(8) + bytes([144, 2, 0, 0]) + peer + home)
    out.append(bytes([144, 1, 0, 0]) + peer + bytes([144, 1, 0, 0]) + peer)  # duplicate
    out.append(bytes([131, 0]) + bytes([144, 1]))  # zero-length option before it
    out.append(bytes([131, 255, 1, 1]))
    out.append(bytes([0, 144, 1, 0, 0]) + peer)  # after END
    return [o[:40] for o in out]


def routing_headers():
    home = addr_bytes(HOME6)
    peer = addr_bytes("2001:db8:bb::7")
    out = []
    for stype in (0, 1, 2, 3, 255):
        for ext_len in (0, 1, 2, 3, 4, 5, 255):
            for segs in (0, 1, 2, 255):
                for rtype in (2, 0, 4):
                    body = bytes([17, ext_len, rtype, segs, stype, 0, 0, 0]) + peer + home
                    out.append(body[:(ext_len + 1) * 8])
    for bad in ("::", "::1", "ff02::1", "::ffff:10.1.0.2", "fe80::1"):
        out.append(bytes([17, 2, 2, 1, 1, 0, 0, 0]) + addr_bytes(bad))
    return out


def packet_phase(tun, socks):
    port = {name: s.getsockname()[1] for name, s in socks if name.endswith("-conn")}
    up4, up6 = port.get("udp4-conn", 5000), port.get("udp6-conn", 5000)

    # ICMP type 41, every code, notices and sealed messages, with random bodies.
    seal4 = 8 + 16 + 5 + 8 + 12 + 16
    for code in range(256):
        for src in (ROUTER4, PEER4, FAR4):
            body_len = rng.choice([4, 4, 12, seal4 - 4, rng.randrange(80)])
            body = os.urandom(body_len)
            if code in (3, 4) and rng.random() < 0.7:
                # The named connection: the peer's view of udp4-conn, then a record header.
                pcb = bytes([17, 0, 0, 0]) + addr_bytes(FAR4) + addr_bytes(LOCAL4) + \
                    struct.pack("!HH", 7000, up4)
                body = bytes(4) + pcb + bytes([41, 3, 3, 0, 36]) + struct.pack("!Q", rng.randrange(1, 1 << 64)) + os.urandom(28)
            elif code in (1, 2, 5, 6) and rng.random() < 0.5:
                body = addr_bytes(rng.choice([ROUTER4, PEER4, "10.1.0.3", "0.0.0.0"]))
            dst = rng.choice((LOCAL4, LOCAL4, "10.1.0.255", "255.255.255.255"))
            tun.send(ip4(src, dst, 1, icmp(ICMP_TYPE, code, body, rng.random() < 0.9),
                         ttl=rng.choice([255, 255, 64, 1])))
    # ICMPv6 type 200, every code.
    seal6 = 8 + 40 + 5 + 8 + 36 + 16
    for code in range(256):
        for src in ("fe80::1", ROUTER6, FAR6):
            body_len = rng.choice([20, seal6 - 4, rng.randrange(140)])
            body = os.urandom(body_len)
            if code in (3, 4) and rng.random() < 0.7:
                pcb = bytes([17, 0, 0, 0]) + addr_bytes(FAR6) + addr_bytes(LOCAL6) + \
                    struct.pack("!HH", 7000, up6)
                body = bytes(4) + pcb + bytes([41, 3, 3, 0, 60]) + struct.pack("!Q", rng.randrange(1, 1 << 64)) + os.urandom(52)
            elif code in (1, 2, 5) and rng.random() < 0.5:
                body = bytes(4) + addr_bytes(rng.choice([ROUTER6, "::ffff:10.1.0.1", "::"]))
            dst = rng.choice((LOCAL6, LOCAL6, "ff02::1"))
            tun.send(ip6(src, dst, 58, icmp6(src, dst, ICMP6_TYPE, code, body,
                                              rng.random() < 0.9), hops=rng.choice([255, 64])))
    # IPv4 option 144 in every length and layout, to a local socket and to the listener.
    for options in stacking_options():
        for payload, proto in ((udp(7000, up4), 17), (tcp_syn(7000, 80), 6),
                               (icmp(8, 0, b"\0\1\0\1"), 1)):
            tun.send(ip4(FAR4, LOCAL4, proto, payload, options=options))
    for ihl in range(0, 16):
        tun.send(ip4(FAR4, LOCAL4, 17, udp(7000, up4), options=os.urandom(40), ihl=ihl))
        tun.send(ip4(FAR4, LOCAL4, 17, udp(7000, up4), options=bytes([144, 2, 0, 0]),
                     total=rng.randrange(20, 80)))
    # IPv6 routing header type 2 in every length and type.
    for rh in routing_headers():
        for cut in (len(rh), max(len(rh) - 9, 0), 8):
            tun.send(ip6(FAR6, LOCAL6, 43, rh[:cut] + udp(7000, up6)))
    tun.send(ip6(FAR6, LOCAL6, 0, bytes([43, 0, 1, 4, 0, 0, 0, 0]) +
                 routing_headers()[0] + udp(7000, up6)))  # behind hop-by-hop options
    # Random mixtures.
    for _ in range(ITERS * 5):
        kind = rng.randrange(4)
        if kind == 0:
            tun.send(ip4(rng.choice([ROUTER4, FAR4, PEER4]), rng.choice([LOCAL4, HOME4]),
                         rng.choice([1, 6, 17]), os.urandom(rng.randrange(80)),
                         options=rng.choice(stacking_options()), ttl=rng.choice([255, 64])))
        elif kind == 1:
            tun.send(ip6(rng.choice([ROUTER6, FAR6, "fe80::1"]), rng.choice([LOCAL6, HOME6]),
                         rng.choice([43, 58, 17]), rng.choice(routing_headers()) + os.urandom(rng.randrange(64))))
        elif kind == 2:
            tun.send(ip4(ROUTER4, LOCAL4, 1, icmp(ICMP_TYPE, rng.randrange(256),
                                                   os.urandom(rng.randrange(100))), ttl=255))
        else:
            tun.send(os.urandom(rng.randrange(1, 120)))
    tun.drain()
    result("packets: ICMP 41 and ICMPv6 200 of every code, option 144 and RH2 of every length",
           counts.get("packets injected", 0) > 1000,
           ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k.startswith("packets")))


def rand_ip_options():
    """IP_OPTIONS an unprivileged socket may set: record route and timestamps (once each,
    as the stack allows) of random sizes and order, NOPs between, at most 40 octets."""
    out = b""
    for kind in rng.sample(["rr", "ts", "nop", "nop"], rng.randrange(1, 5)):
        room = 40 - len(out)
        if kind == "rr" and room >= 7:
            length = rng.choice(range(7, min(room, 39) + 1, 4))
            out += bytes([7, length, 4]) + bytes(length - 3)
        elif kind == "ts" and room >= 12:
            flags = rng.choice([0, 1])
            step = 4 if flags == 0 else 8
            length = rng.choice(range(4 + step, min(room, 40) + 1, step))
            out += bytes([68, length, 5, flags]) + bytes(length - 4)
        elif kind == "nop" and room >= 1:
            out += bytes([1])
    return out + bytes(-len(out) % 4)


def option_layouts():
    """Every layout of record route and timestamp options (one each, either order, NOPs
    before) short enough that a stacked 8-octet option still fits the header: where the
    stack's parsed offsets land once sitemh inserts its option."""
    out = set()
    for rr in (0, 7, 11, 15, 19, 23, 27, 31):
        for ts in (0, 8, 12, 16, 20, 24, 28, 32):
            for nops in range(4):
                if rr + ts + nops > 32 or rr + ts == 0:
                    continue
                rr_opt = bytes([7, rr, 4]) + bytes(rr - 3) if rr else b""
                ts_opt = bytes([68, ts, 5, 0]) + bytes(ts - 4) if ts else b""
                for first, second in ((rr_opt, ts_opt), (ts_opt, rr_opt)):
                    opts = bytes([1] * nops) + first + second
                    out.add(opts + bytes(-len(opts) % 4))
    return sorted(out)


def egress_phase(tun):
    """Packets the module stacks on the way out: from the home addresses, with IP options
    (RR, TS), DF and sizes around the MTU, and raw packets that carry option 144."""
    sent = 0
    IP_OPTIONS, IP_MTU_DISCOVER, IP_PMTUDISC_DO = 4, 10, 2
    IP_PMTUDISC_PROBE = 3  # DF set, the learnt path MTU ignored: every size is tried
    rr_ts = bytes([7, 15, 4]) + bytes(12) + bytes([68, 12, 5, 0]) + bytes(8) + bytes([1])
    option_sets = [b"", rr_ts, bytes([7, 39, 4]) + bytes(36) + bytes([1])]
    option_sets += [rand_ip_options() for _ in range(max(ITERS // 40, 3))]
    for opts in option_sets:
        for bind, dst in ((HOME4, FAR4), (HOME4, PEER4), (LOCAL4, FAR4)):
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((bind, 0))
                if opts:
                    s.setsockopt(SOL_IP, IP_OPTIONS, opts + bytes(-len(opts) % 4))
                s.setsockopt(SOL_IP, IP_MTU_DISCOVER,
                             rng.choice([IP_PMTUDISC_DO, IP_PMTUDISC_PROBE, IP_PMTUDISC_PROBE]))
            except OSError as e:
                note(f"egress socket {bind}: {e}")
                continue
            room = 1500 - 20 - len(opts) - (-len(opts) % 4) - 8
            for size in range(room - 13, room + 1):
                try:
                    s.sendto(b"\xff" * size, (dst, 7000))
                    sent += 1
                except OSError as e:
                    count(f"egress errno {errno.errorcode.get(e.errno, e.errno)}")
            s.close()
            tun.drain()
    # The layouts in turn, each in datagrams that fit the MTU only before stacking.
    for opts in option_layouts():
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((HOME4, 0))
            s.setsockopt(SOL_IP, IP_OPTIONS, opts)
            s.setsockopt(SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
        except OSError as e:
            note(f"egress socket with options {opts.hex()}: {e}")
            continue
        room = 1500 - 20 - len(opts) - 8
        for size in range(room - 7, room + 1, 2):
            try:
                s.sendto(b"\xff" * size, (FAR4, 7000))
                sent += 1
            except OSError as e:
                count(f"egress errno {errno.errorcode.get(e.errno, e.errno)}")
        s.close()
        tun.drain()
    for bind, dst in ((HOME6, FAR6), (LOCAL6, FAR6), (HOME6, PEER6)):
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.bind((bind, 0))
            s.setsockopt(SOL_IPV6, 23, rng.choice([2, 3]))  # IPV6_MTU_DISCOVER: DO, PROBE
            s.setsockopt(SOL_IPV6, 62, 1)  # IPV6_DONTFRAG
        except OSError as e:
            note(f"egress socket {bind}: {e}")
            continue
        room = 1500 - 40 - 8
        for size in range(room - 48, room + 1, 4):
            try:
                s.sendto(b"\xff" * size, (dst, 7000))
                sent += 1
            except OSError as e:
                count(f"egress errno {errno.errorcode.get(e.errno, e.errno)}")
        s.close()
        tun.drain()
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for options in stacking_options():
            for src in (HOME4, LOCAL4):
                try:
                    raw.sendto(ip4(src, FAR4, 17, udp(5000, 7000, b"r" * rng.randrange(1400)),
                                   options=options, df=True), (FAR4, 0))
                    sent += 1
                except OSError as e:
                    count(f"egress errno {errno.errorcode.get(e.errno, e.errno)}")
        raw.close()
    except OSError as e:
        note(f"raw socket: {e}")
    tun.drain()
    result("egress: stacked packets from the home addresses, with options, around the MTU",
           sent > 0, f"{sent} sent, " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())
                                                   if k.startswith("egress")))


def setup_network():
    bad = []
    try:
        tun = Tun("smtun0")
    except OSError as e:
        return None, [f"TUN: {e}"]
    cmds = [
        ("link", "set", "lo", "up"),
        ("link", "set", "smtun0", "up"),
        ("addr", "add", LOCAL4 + "/24", "dev", "smtun0"),
        ("addr", "add", "10.2.0.2/24", "dev", "smtun0"),
        ("-6", "addr", "add", LOCAL6 + "/64", "dev", "smtun0", "nodad"),
        ("addr", "add", HOME4 + "/32", "dev", "lo"),
        ("-6", "addr", "add", HOME6 + "/128", "dev", "lo", "nodad"),
        ("route", "add", "default", "via", ROUTER4),
        ("-6", "route", "add", "default", "via", ROUTER6),
        ("link", "add", "smdum0", "type", "dummy"),
        ("link", "set", "smdum0", "up"),
        ("addr", "add", "10.4.0.2/24", "dev", "smdum0"),
        ("link", "add", "smva", "type", "veth", "peer", "name", "smvb"),
        ("link", "set", "smva", "up"),
        ("link", "set", "smvb", "up"),
        ("addr", "add", "10.1.0.3/24", "dev", "smva"),
    ]
    for cmd in cmds:
        r = run(*cmd)
        if r.returncode:
            bad.append(" ".join(cmd) + ": " + r.stderr.strip())
    return tun, bad


def main():
    note(f"uid {os.getuid()} (mapped from 65534), seed {SEED}, {ITERS} iterations")
    with open("/proc/self/uid_map") as f:
        note("uid_map " + f.read().strip())
    tun, bad = setup_network()
    result("namespace: TUN, veth and dummy devices with addresses", not bad, "; ".join(bad))
    failed = configure()
    try:
        with open("/proc/net/sitemh") as f:
            table = f.read()
    except OSError as e:
        table = str(e)
    result("namespace: the valid configuration takes effect", not failed and
           "10.1.0.0/24" in table and "2001:db8:1::/64" in table,
           f"refused: {failed}" if failed else "")
    # The CE role on this namespace's devices (its work items run while we fuzz).
    for k, v in (("ipv4/sitemh_ce/uplink", "smdum0"), ("ipv4/sitemh_ce/pe_addr", "10.4.0.1"),
                 ("ipv4/sitemh_ce/lan", "smva"), ("ipv4/sitemh_ce/peers", "10.1.0.9 10.1.0.10")):
        e = write(k, v)
        if e:
            note(f"{k} = {v}: {errno.errorcode.get(e, e)}")

    t0 = time.time()
    sysctl_phase()
    note(f"sysctl phase {time.time() - t0:.1f} s")
    configure()

    t0 = time.time()
    socks = sockets()
    sockopt_phase(socks)
    note(f"sockopt phase {time.time() - t0:.1f} s")
    configure()
    note(f"{keyed_connections(socks)} connections keyed")

    if tun is None:
        result("packets: no TUN device to inject them through", False)
    else:
        t0 = time.time()
        packet_phase(tun, socks)
        note(f"packet phase {time.time() - t0:.1f} s")
        t0 = time.time()
        egress_phase(tun)
        note(f"egress phase {time.time() - t0:.1f} s")

    try:
        with open("/proc/net/sitemh") as f:
            for line in f:
                note("ns: " + line.rstrip())
    except OSError as e:
        note(f"/proc/net/sitemh: {e}")
    for _, s in socks:
        s.close()
    if tun is not None:
        os.close(tun.fd)
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a bug of this script, or a call that should have come back
        import traceback
        traceback.print_exc()
        result("script ran to its end", False, repr(e))
        sys.exit(1)
