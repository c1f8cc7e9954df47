#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Listens to the generic netlink family "sitemh" (include/uapi/linux/sitemh.h, "Events")
and prints one line per event: `EVENT key=value ...`, addresses as text. Prints
`listening GROUP` once joined, or `join GROUP: ERRNO-NAME` and exits 1 if the kernel
refuses (an unprivileged listener of "events"). Runs until killed or --count events.

usage: sitemh_events.py [--group events|own] [--count N]
"""
import argparse
import errno
import ipaddress
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
FAMILY = os.environ.get("SITEMH_GENL_FAMILY", "sitemh")
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1

# enum sitemh_event_type, enum sitemh_attr (the UAPI header).
EVENTS = [None, "notice_sent", "notice_received", "domain_down", "domain_up", "conn_moved",
          "conn_failed_back", "binding_learned", "binding_expired", "domain_learned",
          "domain_expired"]
ATTRS = [None, "event", "family", "code", "domain", "router", "gateway", "ifindex", "proto",
         "laddr", "lport", "faddr", "fport", "old_saddr", "old_daddr", "new_saddr",
         "new_daddr", "uid", "home", "careof", "prefix", "prefix_len"]
U8 = {"event", "family", "code", "domain", "proto", "prefix_len"}
U16 = {"lport", "fport"}
U32 = {"ifindex", "uid"}


def attrs(data):
    """(type, payload) of each netlink attribute in data."""
    while len(data) >= 4:
        length, kind = struct.unpack_from("=HH", data)
        if length < 4:
            break
        yield kind & 0x3fff, data[4:length]
        data = data[(length + 3) & ~3:]


def resolve(sock):
    """The family's id and its groups' ids."""
    name = FAMILY.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(name), CTRL_ATTR_FAMILY_NAME) + name
    attr += b"\0" * (-len(attr) % 4)
    body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + attr
    sock.send(struct.pack("=IHHII", 16 + len(body), GENL_ID_CTRL, NLM_F_REQUEST, 1, 0) + body)
    reply = sock.recv(65536)
    length, kind = struct.unpack_from("=IH", reply)
    if kind == NLMSG_ERROR:
        code = -struct.unpack_from("=i", reply, 16)[0]
        raise OSError(code, "family sitemh: " + os.strerror(code))
    family, groups = None, {}
    for kind, value in attrs(reply[20:length]):
        if kind == CTRL_ATTR_FAMILY_ID:
            family = struct.unpack("=H", value[:2])[0]
        elif kind == CTRL_ATTR_MCAST_GROUPS:
            for _, group in attrs(value):
                fields = dict(attrs(group))
                gname = fields[CTRL_ATTR_MCAST_GRP_NAME].rstrip(b"\0").decode()
                groups[gname] = struct.unpack("=I", fields[CTRL_ATTR_MCAST_GRP_ID][:4])[0]
    return family, groups


def shown(event):
    """EVENT key=value ..., addresses as text."""
    kind = event.get("event", 0)
    out = [EVENTS[kind] if 0 < kind < len(EVENTS) else f"event{kind}"]
    for key, value in event.items():
        if key == "event":
            continue
        if isinstance(value, bytes):
            value = str(ipaddress.ip_address(value)) if len(value) in (4, 16) else value.hex()
        out.append(f"{key}={value}")
    return " ".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", default="events")
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    family, groups = resolve(sock)
    try:
        sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, groups[args.group])
    except OSError as e:
        print(f"join {args.group}: {errno.errorcode.get(e.errno, e.errno)}", flush=True)
        return 1
    print(f"listening {args.group}", flush=True)
    seen = 0
    while True:
        data = sock.recv(65536)
        while len(data) >= 16:
            length, kind = struct.unpack_from("=IH", data)
            if kind == family:
                event = {}
                for akind, value in attrs(data[20:length]):
                    name = ATTRS[akind] if akind < len(ATTRS) else f"attr{akind}"
                    if name in U8:
                        value = value[0]
                    elif name in U16:
                        value = struct.unpack("=H", value[:2])[0]
                    elif name in U32:
                        value = struct.unpack("=I", value[:4])[0]
                    event[name] = value
                print(shown(event), flush=True)
                seen += 1
                if args.count and seen >= args.count:
                    return 0
            data = data[(length + 3) & ~3:]


if __name__ == "__main__":
    sys.exit(main())
