#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Equivalence of source-domain routing with policy routing (used by sitemh_equivalence.sh).

The draft's rule, written as `ip rule`s (what a network engineer would configure without
the module), for a domain table D:

    pref 1000+i  to   D[i]            lookup main      destination inside the site: usual
    pref 2000+k  from D[k] (longest   lookup 100+k     table 100+k: default via D[k]'s router
                 prefix first)        unreachable      (private domain: confined to the site)

`run` executes in router namespace R. It draws a random domain table and random (source,
destination) pairs, then sends one UDP packet per pair twice: once with the module holding
the table, once with the module empty and the rules above installed. Each time it records,
per pair, whether the send failed and which next hop the packet left R by (nftables, `rt
nexthop` at postrouting), both for R's own packets (LOCAL_OUT) and for packets that the
sender namespace S routes through R (FORWARD). The two records must be equal.

Sources need not be local: sockets are IP_TRANSPARENT, so any address can be a source.
"""

import argparse
import ipaddress
import json
import os
import random
import socket
import subprocess
import sys

IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75
PORT = 9
# R's link to the routers: a dummy device (no neighbour resolution); routers live here.
ROUTER_NET = {4: ipaddress.ip_network("100.64.0.0/16"), 6: ipaddress.ip_network("fd64::/64")}
# R's main table sends everything here: a rerouted packet is told apart by its next hop.
MAIN_ROUTER = {4: ipaddress.ip_address("100.64.255.254"), 6: ipaddress.ip_address("fd64::fffe")}
# Where domains and outside addresses are drawn from (never local, multicast or link-local).
POOLS = {
    4: [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "198.18.0.0/15",
                                           "203.0.113.0/24", "44.0.0.0/8")],
    6: [ipaddress.ip_network(n) for n in ("2001:db8::/32", "fd00::/16", "2a00:1450::/32")],
}
PREFIX_LEN = {4: (8, 30), 6: (32, 120)}


def sh(cmd, stdin=None):
    subprocess.run(cmd, input=stdin, text=True, check=True)


def random_host(rng, net):
    return net.network_address + rng.randrange(net.num_addresses)


def random_subnet(rng, net, family):
    lo, hi = PREFIX_LEN[family]
    length = rng.randint(max(lo, net.prefixlen + 1), hi)
    return ipaddress.ip_network((random_host(rng, net), length), strict=False)


def draw_table(rng, family, count):
    """Random domains; some nested in others (the longest prefix must win), some private."""
    domains = []
    while len(domains) < count:
        parent = rng.choice(domains)[0] if domains else None
        if parent and parent.prefixlen < PREFIX_LEN[family][1] and rng.random() < 0.4:
            net = random_subnet(rng, parent, family)
        else:
            net = random_subnet(rng, rng.choice(POOLS[family]), family)
        if any(net == d[0] for d in domains):
            continue
        # Every fourth domain is private; routers sit above R's own addresses on eq0.
        router = None
        if len(domains) % 4 != 3:
            router = ROUTER_NET[family].network_address + 0x100 + len(domains)
        domains.append((net, router))
    return domains


def draw_pairs(rng, family, domains, count):
    def address():
        if rng.random() < 0.6:
            return random_host(rng, rng.choice(domains)[0])
        return random_host(rng, rng.choice(POOLS[family]))

    pairs = set()
    while len(pairs) < count:
        pairs.add((address(), address()))
    return sorted(pairs)


def write_sysctl(family, key, value):
    with open(f"/proc/sys/net/ipv{family}/{key}", "w") as f:
        f.write(f"{value}\n")


def configure_module(family, domains):
    write_sysctl(family, "ip_num_domains", len(domains))
    unspecified = "0.0.0.0" if family == 4 else "::"
    for i, (net, router) in enumerate(domains):
        write_sysctl(family, f"ip_domain/{i}/net_mask", f"/{net.prefixlen}")
        write_sysctl(family, f"ip_domain/{i}/net_addr", net.network_address)
        write_sysctl(family, f"ip_domain/{i}/def_router", router or unspecified)


def policy_commands(family, domains, verb):
    """The rules, as an `ip -batch` script for `ip -4` or `ip -6`."""
    cmds = []
    for i, (net, _) in enumerate(domains):
        cmds.append(f"rule {verb} to {net} lookup main pref {1000 + i}")
    by_length = sorted(range(len(domains)), key=lambda i: -domains[i][0].prefixlen)
    for k, i in enumerate(by_length):
        net, router = domains[i]
        if router is None:
            cmds.append(f"rule {verb} from {net} unreachable pref {2000 + k}")
        else:
            cmds.append(f"rule {verb} from {net} lookup {100 + k} pref {2000 + k}")
            cmds.append(f"route {verb} default via {router} dev eq0 table {100 + k}")
    return "\n".join(cmds) + "\n"


def send(family, pairs):
    """One UDP packet per pair; returns the errno of each send (0: sent)."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    results = []
    for src, dst in pairs:
        s = socket.socket(af, socket.SOCK_DGRAM)
        try:
            if family == 4:
                s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
            s.bind((str(src), 0))
            s.sendto(b"sitemh", (str(dst), PORT))
            results.append(0)
        except OSError as e:
            results.append(e.errno)
        finally:
            s.close()
    return results


def next_hops(family):
    """(source, destination) -> next hop of every packet R sent or forwarded since the flush."""
    out = subprocess.run(["nft", "-j", "list", "set", "inet", "equiv", f"seen{family}"],
                         capture_output=True, text=True, check=True).stdout
    hops = {}
    for item in json.loads(out)["nftables"]:
        for elem in item.get("set", {}).get("elem", []):
            src, dst, hop = (ipaddress.ip_address(a) for a in elem["concat"])
            hops[(src, dst)] = hop
    return hops


def flush():
    sh(["nft", "flush", "set", "inet", "equiv", "seen4"])
    sh(["nft", "flush", "set", "inet", "equiv", "seen6"])


def observe(family, pairs, sender_ns):
    """What happened to every pair, sent from R itself and forwarded from S through R."""
    flush()
    local_errors = send(family, pairs)
    local_hops = next_hops(family)
    flush()
    text = "".join(f"{s} {d}\n" for s, d in pairs)
    sh(["ip", "netns", "exec", sender_ns, sys.executable, os.path.abspath(__file__),
        "send", "--family", str(family)], stdin=text)
    forward_hops = next_hops(family)
    return {
        p: (bool(local_errors[i]), local_hops.get(p), forward_hops.get(p))
        for i, p in enumerate(pairs)
    }


def classify(family, decision):
    """What policy routing did with a pair sent from R: a send refused, a packet that left
    by no next hop the capture saw ("no hop": not a decision, something lost it), the
    main table's router, or another (a domain's router)."""
    refused, local_hop, _ = decision
    if refused:
        return "confined"
    if local_hop is None:
        return "no hop"
    if local_hop == MAIN_ROUTER[family]:
        return "usual"
    return "rerouted"


def classify_forward(family, decision):
    """The same for the pair's packet forwarded from S."""
    refused, _, forward_hop = decision
    if forward_hop is None:
        # A confined pair's forwarded packet is dropped at R, as its send is refused.
        return "confined" if refused else "no hop"
    if forward_hop == MAIN_ROUTER[family]:
        return "usual"
    return "rerouted"


def run(args):
    family = args.family
    rng = random.Random(args.seed)
    domains = draw_table(rng, family, args.domains)
    pairs = draw_pairs(rng, family, domains, args.pairs)

    configure_module(family, domains)
    with_module = observe(family, pairs, args.sender_ns)
    write_sysctl(family, "ip_num_domains", 0)

    sh(["ip", f"-{family}", "-batch", "-"], stdin=policy_commands(family, domains, "add"))
    try:
        with_rules = observe(family, pairs, args.sender_ns)
    finally:
        sh(["ip", f"-{family}", "-force", "-batch", "-"],
           stdin=policy_commands(family, domains, "del"))

    kinds, forward_kinds = {}, {}
    for p in pairs:
        kind = classify(family, with_rules[p])
        kinds[kind] = kinds.get(kind, 0) + 1
        kind = classify_forward(family, with_rules[p])
        forward_kinds[kind] = forward_kinds.get(kind, 0) + 1
    print(f"# IPv{family} seed {args.seed}: {len(domains)} domains, {len(pairs)} pairs, "
          + "local: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
          + "; forwarded: " + ", ".join(f"{n} {k}" for k, n in sorted(forward_kinds.items())))
    mismatches = [p for p in pairs if with_module[p] != with_rules[p]]
    for src, dst in mismatches[:20]:
        print(f"# {src} -> {dst}: module (refused, local hop, forward hop) "
              f"{with_module[(src, dst)]}, ip rule {with_rules[(src, dst)]}")
    if mismatches:
        print("# domains: " + ", ".join(f"{n} via {r or 'none'}" for n, r in domains))
        print(f"# {len(mismatches)} of {len(pairs)} pairs differ")
        return 1
    # Pairs whose packet the capture never saw compare equal (None against None) whatever
    # the module did: if most are such, the comparison (or one half of it) saw nothing.
    for half, counted in (("sent from R", kinds), ("forwarded from S", forward_kinds)):
        if 2 * counted.get("no hop", 0) > len(pairs):
            print(f"# {counted.get('no hop', 0)} of {len(pairs)} pairs {half} left by no "
                  "next hop the capture saw: comparison too weak")
            return 1
    # A comparison that never exercises a branch proves nothing about it.
    for half, counted in (("sent from R", kinds), ("forwarded from S", forward_kinds)):
        missing = {"usual", "rerouted", "confined"} - set(counted)
        if missing:
            print(f"# the draw exercised no {', '.join(sorted(missing))} pair {half}: "
                  "comparison too weak")
            return 1
    return 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--family", type=int, choices=(4, 6), required=True)
    r.add_argument("--seed", type=int, required=True)
    r.add_argument("--domains", type=int, default=12)
    r.add_argument("--pairs", type=int, default=400)
    r.add_argument("--sender-ns", required=True)
    s = sub.add_parser("send")
    s.add_argument("--family", type=int, choices=(4, 6), required=True)
    args = parser.parse_args()
    if args.command == "send":
        pairs = [tuple(ipaddress.ip_address(a) for a in line.split()) for line in sys.stdin]
        send(args.family, pairs)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
