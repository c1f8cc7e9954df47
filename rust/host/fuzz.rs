// SPDX-License-Identifier: GPL-2.0

//! Fuzz harnesses over the parsers of `rust/logic`: one function per target of the
//! `cargo fuzz` crate in `rust/fuzz`, each taking arbitrary octets. A harness panics only
//! if the code under test panics (an out-of-bounds index, an overflow under the debug
//! assertions the fuzz build enables) or breaks a property it asserts: what a parser
//! accepts, its writer writes back to the same value; a table lookup agrees with a naive
//! one. The host tests run every committed seed through its harness, so a fixed crash
//! stays fixed.

use crate::logic::{
    announce,
    binding_update::{
        self,
        BindingUpdate,
        UpdateError,
        KEY_LEN,
        MAX_LIFETIME_S,
        UPDATE_MAX, //
    },
    domain::{
        DomainConfig,
        DomainTable,
        Route,
        Router,
        MAX_DOMAINS, //
    },
    icmp_error, ipv4, ipv6,
    kdf::Keys,
    linkfail::{
        self,
        AddrList,
        AltRoute,
        Layout,
        Plaintext,
        ReplayWindow,
        RouteList,
        ICMP_LINKFAILURE,
        NOTICE6_LEN,
        NOTICE_LEN, //
    },
    ports,
    prefix::{
        Bits,
        Prefix,
        WireAddr, //
    },
    probe,
    select::{
        self,
        Classify,
        Host,
        LocalAddr,
        Pair,
        PathInfo,
        Ranked,
        Service,
        MAX_DESTS,
        MAX_SOURCES, //
    },
    sockopt::{
        self,
        LfRoutes,
        PairsRequest,
        SeqParam,
        SEQPARAM_LEN, //
    },
    stacking::{
        self,
        HomeAddr,
        Ipv4Layout,
        Stacking,
        IPV4_OPTIONS_MAX, //
    },
    switchover::{
        Carried,
        Conn,
        Routes,
        MAX_LFROUTES, //
    },
    tcp, text,
};
use core::fmt::Write as _;

/// The fuzz targets: name (the `rust/fuzz/fuzz_targets/<name>.rs` binary and the
/// `rust/fuzz/seeds/<name>/` corpus) and harness.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("notice", notice),
    ("sealed", sealed),
    ("stacking", stacking),
    ("sysctl_text", sysctl_text),
    ("domains", domains),
    ("select", select),
    ("sockopt", sockopt),
    ("binding_update", binding_update),
    ("packet", packet),
];

/// Octets consumed front to back; past the end every read is zero, so any input is a
/// complete case.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&first, rest)) => {
                self.0 = rest;
                first
            }
            None => 0,
        }
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        core::array::from_fn(|_| self.u8())
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.bytes())
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes())
    }

    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.bytes())
    }

    /// The next `len` octets (fewer at the end).
    fn take(&mut self, len: usize) -> &'a [u8] {
        let (head, rest) = self.0.split_at(len.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn rest(&mut self) -> &'a [u8] {
        self.take(self.0.len())
    }
}

/// Addresses the harnesses draw from input: both families.
trait Draw: Classify + WireAddr + core::fmt::Debug + Default {
    fn draw(input: &mut Input<'_>) -> Self;
}

impl Draw for u32 {
    fn draw(input: &mut Input<'_>) -> Self {
        input.u32()
    }
}

impl Draw for u128 {
    fn draw(input: &mut Input<'_>) -> Self {
        u128::from_be_bytes(input.bytes())
    }
}

/// Link-failure notices, IPv4 (first octet even) or IPv6 (odd: then 32 octets of source
/// and destination before the message), with or without their announcement: a parsed
/// notice writes back to the same notice. The same octets then drive the announcements'
/// schedule and a host's table of heard notices ([`announce_table`]).
pub fn notice(data: &[u8]) {
    notice_wire(data);
    announce_table(data);
}

fn notice_wire(data: &[u8]) {
    let mut input = Input(data);
    // Sealed notices are written back under this key, from this source: a parsed notice
    // writes back to the same fields; the tag of the fuzzer's octets is not expected to
    // verify (and verifying must not panic).
    const KEY: [u8; announce::KEY_LEN] = [7; announce::KEY_LEN];
    if input.u8() & 1 == 0 {
        let message = input.rest();
        for type_ in [ICMP_LINKFAILURE, message.first().copied().unwrap_or(0)] {
            let Ok((notice, tail)) = announce::parse_announced(type_, message) else {
                continue;
            };
            let _ = announce::seal_verifies(message, &[10, 0, 0, 1], &KEY);
            let Some(announced) = tail.announced else {
                let mut out = [0u8; NOTICE_LEN];
                linkfail::write_notice(type_, &notice, &mut out);
                assert_eq!(linkfail::parse_notice(type_, &out), Ok(notice));
                assert_eq!(&out[..2], &message[..2]);
                continue;
            };
            let seal = tail.sealed_at_ms.map(|time_ms| announce::Seal {
                key: &KEY,
                src: &[10, 0, 0, 1],
                time_ms,
            });
            let mut out = [0u8; announce::NOTICE_MAX];
            let len =
                announce::write_announced(type_, &notice, &announced, seal.as_ref(), &mut out);
            assert_eq!(len, message.len());
            assert_eq!(
                announce::parse_announced(type_, &out[..len]),
                Ok((notice, tail))
            );
            if seal.is_some() {
                assert!(announce::seal_verifies(&out[..len], &[10, 0, 0, 1], &KEY));
            }
        }
        return;
    }
    let src = u128::draw(&mut input);
    let dst = u128::draw(&mut input);
    let message = input.rest();
    for type_ in [200, message.first().copied().unwrap_or(0)] {
        let Ok((notice, tail)) = announce::parse_announced6(type_, message, src, dst) else {
            continue;
        };
        let _ = announce::seal_verifies(message, &src.to_be_bytes(), &KEY);
        let mut out = [0u8; announce::NOTICE6_MAX];
        let len = match tail.announced {
            Some(announced) => {
                let src_octets = src.to_be_bytes();
                let seal = tail.sealed_at_ms.map(|time_ms| announce::Seal {
                    key: &KEY,
                    src: &src_octets,
                    time_ms,
                });
                announce::write_announced6(type_, &notice, &announced, seal.as_ref(), &mut out)
            }
            None => {
                let mut draft = [0u8; NOTICE6_LEN];
                linkfail::write_notice6(type_, &notice, &mut draft);
                out[..NOTICE6_LEN].copy_from_slice(&draft);
                NOTICE6_LEN
            }
        };
        let sum = linkfail::icmpv6_checksum(src, dst, &out[..len]);
        out[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(
            announce::parse_announced6(type_, &out[..len], src, dst),
            Ok((notice, tail))
        );
    }
}

/// A CE's copies of an announcement and a host's table of the notices it heard, driven by
/// arbitrary events: the copies' times never go back, a host's marks are the union of its
/// live failures, and hearing never panics.
fn announce_table(data: &[u8]) {
    let mut input = Input(data);
    let timing = announce::Timing {
        repeat_ms: u32::from(input.u8()) * 10,
        repeats: u32::from(input.u8() % 12),
        refresh_ms: u32::from(input.u8()) * 100,
    };
    let code = [1u8, 2, 5][usize::from(input.u8() % 3)];
    let mut copies = announce::Announcement::new(code, 0u32, 1, 0);
    let mut last = 0;
    for _ in 0..40 {
        let Some(at) = copies.next_ms else {
            break;
        };
        assert!(at >= last);
        last = at;
        copies.take_copy(&timing, 7, at);
    }
    let mut heard = announce::HeardNotices::<u8, 4>::new();
    let mut now = 0u64;
    while !input.0.is_empty() {
        now += u64::from(input.u8()) * 50;
        let sender = input.u8() % 6;
        let gateway = input.u8() % 3;
        let code = [1u8, 2, 5][usize::from(input.u8() % 3)];
        let announced = (input.u8() & 1 == 1).then(|| announce::Announced {
            copy: 0,
            lifetime_s: u16::from(input.u8() % 4),
            boot: u32::from(input.u8() % 2),
            seq: u32::from(input.u8() % 8),
        });
        let domains = u32::from(input.u8() % 8);
        let hearing = heard.hear(sender, gateway, code, announced, domains, now);
        assert_eq!(hearing.after, heard.down_mask(now));
        if hearing.order == announce::Order::Stale {
            assert_eq!(hearing.before, hearing.after);
        }
        if let Some(lapse) = heard.next_lapse(now) {
            assert!(lapse > now);
        }
    }
}

/// Sealed exchange messages (codes 3 and 4) of either family: the clear part, then the
/// plaintext as the kernel reads it once AES-GCM opened it (here: the ciphertext octets
/// as they are), through a connection's exchange state machine and its replay window.
pub fn sealed(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.u8();
    let message = input.rest();
    if selector & 1 == 0 {
        sealed_family::<u32>(selector, message);
    } else {
        sealed_family::<u128>(selector, message);
    }
}

/// A route list that parsed: it writes back the same, and the routes a connection makes
/// of it hold its own pair first, the pair in use, and every pair once, at most 16.
fn route_list<B: Draw>(parsed: &linkfail::Sealed<B>, list: &RouteList<B>, selector: u8) {
    let mut plain = [0u8; RouteList::<u128>::MAX_LEN];
    list.write(&mut plain);
    assert_eq!(
        RouteList::<B>::read(&plain[..list.len()]),
        Some(*list),
        "route list"
    );
    let tuple = parsed.pcb.reversed();
    let Some(routes) = Routes::new(&[(tuple.laddr, tuple.faddr)]) else {
        return;
    };
    let mut conn = Conn::new(tuple, routes);
    let mut carried = Carried::new();
    carried.peer = list.addrs;
    if selector & 8 != 0 {
        carried.own = list.addrs;
    }
    let first = conn.routes_of(&carried);
    assert!(
        conn.adopt_routes(first),
        "routes without a move are adopted"
    );
    if conn.routes.as_slice().len() > 1 {
        conn.in_use = Some(1);
    }
    let in_use = conn.current();
    carried.peer = AddrList::of([tuple.faddr]);
    let second = conn.routes_of(&carried);
    let pairs = second.as_slice();
    assert_eq!(
        pairs.first(),
        Some(&(tuple.laddr, tuple.faddr)),
        "own pair first"
    );
    assert!(pairs.contains(&in_use), "the pair in use stays");
    assert!(
        conn.adopt_routes(second),
        "routes keeping the pair in use are adopted"
    );
    assert_eq!(conn.current(), in_use, "the index follows the pair in use");
    for (i, pair) in pairs.iter().enumerate() {
        assert!(!pairs[..i].contains(pair), "a pair twice");
    }
    check_conn(&conn);
}

fn sealed_family<B: Draw>(selector: u8, message: &[u8]) {
    let type_ = if selector & 2 == 0 {
        ICMP_LINKFAILURE
    } else {
        200
    };
    let verify = selector & 4 == 0;
    let Ok(parsed) = linkfail::parse_sealed::<B>(type_, message, verify) else {
        return;
    };
    // The clear part writes back to the same fields.
    let mut out = [0u8; Layout::<u128>::MAX];
    let len = Layout::<B>::len_for(parsed.plain_len);
    linkfail::write_clear_len::<B>(
        type_,
        parsed.code,
        &parsed.pcb,
        parsed.seq,
        parsed.plain_len,
        &mut out,
    );
    assert_eq!(
        linkfail::parse_sealed::<B>(type_, &out[..len], false),
        Ok(parsed),
        "clear part"
    );
    let plain = &message[Layout::<B>::CIPHERTEXT..Layout::<B>::CIPHERTEXT + parsed.plain_len];
    let alt = match Plaintext::<B>::read(parsed.code, plain) {
        Some(Plaintext::Route(alt)) => alt,
        Some(Plaintext::List(list)) => return route_list::<B>(&parsed, &list, selector),
        None => return,
    };
    let mut plain = [0u8; AltRoute::<u128>::LEN];
    alt.write(&mut plain);
    assert_eq!(AltRoute::<B>::read(&plain[..AltRoute::<B>::LEN]), Some(alt));

    // The receiving end: a connection named by the message's id_pcb, whose routes are the
    // message's pairs in a few arrangements the selector picks.
    let tuple = parsed.pcb.reversed();
    let pairs = [
        (tuple.laddr, tuple.faddr),
        (alt.dst, alt.src),
        (alt.src, alt.dst),
        (tuple.faddr, alt.src),
    ];
    let n = 1 + usize::from(selector >> 4) % pairs.len();
    let Some(routes) = Routes::new(&pairs[..n]) else {
        return;
    };
    let mut conn = Conn::new(tuple, routes);
    assert!(conn.is_named_by(&tuple));
    let usable = |a: B| a != B::ZERO;
    // Whether this connection may take a pair on the wire: the input's selector decides.
    let claim = |l: B, _p: B| selector & 4 == 0 || l != B::ZERO;
    let before = conn;
    let accepted = if parsed.code == linkfail::CODE_SET_ALT_ROUTE {
        conn.accept_request(&alt, parsed.seq, usable, claim).is_ok()
    } else {
        if selector & 8 != 0 {
            let route = conn.alternate(usable, claim).unwrap_or(0);
            let _ = conn.propose(route, 3);
        }
        conn.accept_answer(&alt, claim).is_ok()
    };
    if !accepted && parsed.code == linkfail::CODE_SET_ALT_ROUTE {
        assert_eq!(conn, before, "a refused request changed the connection");
    }
    check_conn(&conn);
    let (local, peer) = conn.current();
    let _ = conn.egress(
        tuple.proto,
        tuple.laddr,
        tuple.faddr,
        tuple.lport,
        tuple.fport,
    );
    let _ = conn.ingress(tuple.proto, peer, local, tuple.fport, tuple.lport);

    let mut window = ReplayWindow::default();
    let fresh = window.check(parsed.seq);
    assert_eq!(window.accept(parsed.seq), fresh);
    assert!(
        !window.accept(parsed.seq),
        "a sequence number accepted twice"
    );
}

/// What must hold of a connection after any exchange.
fn check_conn<B: Draw>(conn: &Conn<B>) {
    let routes = conn.routes.as_slice();
    assert!(!routes.is_empty() && routes.len() <= MAX_LFROUTES);
    if let Some(r) = conn.in_use {
        assert!(usize::from(r) < routes.len(), "in_use out of range");
    }
    if let Some(p) = conn.pending {
        assert!(usize::from(p.route) < routes.len(), "pending out of range");
    }
    let current = conn.current();
    assert!(
        current == (conn.tuple.laddr, conn.tuple.faddr) || routes.contains(&current),
        "the pair in use is neither the socket's nor a route"
    );
}

/// The stacking option of IPv4 (both layouts) and the IPv6 routing header type 2: what
/// parses writes back to the same value, at the same place.
pub fn stacking(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.u8();
    let bytes = input.rest();
    if selector & 1 == 0 {
        let layout = if selector & 2 == 0 {
            Ipv4Layout::Draft
        } else {
            Ipv4Layout::Rfc791
        };
        let options = &bytes[..bytes.len().min(IPV4_OPTIONS_MAX)];
        let Ok(found) = stacking::find_ipv4_option(options, layout) else {
            return;
        };
        assert_eq!(
            stacking::parse_ipv4_options(options, layout),
            Ok(found.map(|(_, s)| s))
        );
        let Some((at, found)) = found else {
            return;
        };
        let len = stacking::ipv4_option_len(found.stacking_type()).expect("parsed type");
        let mut out = [0u8; 12];
        assert_eq!(
            stacking::write_ipv4_option(&found, layout, &mut out),
            Ok(len)
        );
        assert_eq!(
            stacking::find_ipv4_option(&out[..len], layout),
            Ok(Some((0, found)))
        );
        check_home_addrs(&found);
        // The addresses, where the option stood, are what was written.
        assert_eq!(out[4..len], options[at + 4..at + len]);
    } else {
        let Ok((next, found)) = stacking::parse_rh(bytes) else {
            return;
        };
        let mut out = [0u8; 40];
        let len = stacking::write_rh(next, &found, &mut out).expect("parsed type");
        assert_eq!(stacking::rh_len(found.stacking_type()), Ok(len));
        assert_eq!(stacking::parse_rh(&out[..len]), Ok((next, found)));
        assert_eq!(out[8..len], bytes[8..len]);
        check_home_addrs(&found);
    }
}

fn check_home_addrs<A: HomeAddr>(s: &Stacking<A>) {
    for addr in [s.sender_home(), s.receiver_home()].into_iter().flatten() {
        assert!(addr.usable_as_home(), "{addr:?} accepted as a home address");
    }
}

/// The text of the sysctl knobs (addresses, masks, decimals, as the handlers trim them):
/// what parses prints back to text that parses to the same value; decimals print back
/// to the very same text.
pub fn sysctl_text(data: &[u8]) {
    let trimmed = text::trim(data);
    assert!(trimmed.len() <= data.len());
    assert!(trimmed.first().is_none_or(|c| !c.is_ascii_whitespace()));
    assert!(trimmed.last().is_none_or(|c| !c.is_ascii_whitespace()));

    if let Some(n) = text::parse_decimal(trimmed) {
        let mut buf = [0u8; 16];
        let mut out = text::FixedBuf::new(&mut buf);
        write!(out, "{n}").expect("nine digits fit");
        assert_eq!(out.as_bytes(), trimmed, "a decimal with another spelling");
    }

    if let Ok(addr) = ipv4::parse_addr(trimmed) {
        let mut buf = [0u8; 16];
        let shown = ipv4::dotted(addr, &mut buf);
        assert_eq!(shown.as_bytes(), trimmed, "IPv4 text is canonical");
    }
    if let Ok(len) = ipv4::parse_mask(trimmed) {
        assert!(len <= 32);
        let mut buf = [0u8; 16];
        let shown = ipv4::dotted(<u32 as Bits>::mask(len), &mut buf);
        assert_eq!(ipv4::parse_mask(shown.as_bytes()), Ok(len));
    }
    if let Ok(addr) = ipv6::parse_addr(trimmed) {
        let mut buf = [0u8; 48];
        let shown = ipv6::canonical(addr, &mut buf);
        assert_eq!(ipv6::parse_addr(shown.as_bytes()), Ok(addr), "{shown}");
    }
    if let Ok(len) = ipv6::parse_mask(trimmed) {
        assert!(len <= 128);
        let mut buf = [0u8; 48];
        let shown = ipv6::canonical(<u128 as Bits>::mask(len), &mut buf);
        assert_eq!(ipv6::parse_mask(shown.as_bytes()), Ok(len));
    }
    // An IPv6 router with an interface, as `def_router` takes it.
    if let Some(at) = trimmed.iter().position(|&c| c == b'%') {
        let _ = ipv6::parse_addr(&trimmed[..at]).map(ipv6::is_link_local);
    }
    // `auto_cgroup`: a valid path is short, absolute and has no empty, "." or ".." name.
    if ports::cgroup_path_valid(trimmed) {
        assert!(trimmed.len() <= ports::CGROUP_PATH_MAX && trimmed.starts_with(b"/"));
        assert!(!trimmed.windows(2).any(|w| w == b"//"));
    }
    // `auto_ports`: shown back as text that parses to the same ranges, and the packet
    // path's packed form allows what the ranges allow.
    if let Some(ranges) = ports::PortRanges::parse(trimmed) {
        let mut buf = [0u8; 128];
        let mut out = text::FixedBuf::new(&mut buf);
        write!(out, "{ranges}").expect("eight ranges fit");
        assert_eq!(ports::PortRanges::parse(out.as_bytes()), Some(ranges));
        let packed = ranges.packed();
        assert_eq!(ports::PortRanges::from_packed(&packed), ranges);
        for port in [0u16, 1, 22, 443, 1024, 5201, 65535] {
            assert_eq!(
                ports::PortRanges::packed_allows(packed.into_iter(), port),
                ranges.allows(port)
            );
        }
    }
}

/// Domain tables built field by field as sysctl writes them (either family): the table's
/// longest-prefix lookup and forwarding rule agree with a naive scan of the domains.
pub fn domains(data: &[u8]) {
    let mut input = Input(data);
    if input.u8() & 1 == 0 {
        domains_family::<u32>(&mut input);
    } else {
        domains_family::<u128>(&mut input);
    }
}

/// Configurations drawn from input, written the way the sysctl handlers write them.
fn draw_configs<B: Draw>(input: &mut Input<'_>) -> ([DomainConfig<B>; MAX_DOMAINS], usize) {
    let count = usize::from(input.u8()) % (MAX_DOMAINS + 1);
    let mut configs = [DomainConfig::<B>::EMPTY; MAX_DOMAINS];
    for config in configs.iter_mut().take(count) {
        let order = input.u8();
        let addr = B::draw(input);
        let len = input.u8();
        let router = B::draw(input);
        // Either field first, each write checked against the other; refusals change
        // nothing.
        let before = *config;
        if order & 1 == 0 {
            if config.set_prefix_len(len).is_err() {
                assert_eq!(*config, before);
            }
            let _ = config.set_net_addr(addr);
        } else {
            if config.set_net_addr(addr).is_err() {
                assert_eq!(*config, before);
            }
            let _ = config.set_prefix_len(len);
        }
        config.set_def_router(Router {
            addr: router,
            ifindex: i32::from(order >> 4),
        });
        assert!(config.prefix_len() <= B::WIDTH);
        if let Some(addr) = config.net_addr() {
            assert!(Prefix::new(addr, config.prefix_len()).is_ok());
        }
    }
    (configs, count)
}

fn domains_family<B: Draw>(input: &mut Input<'_>) {
    let (configs, count) = draw_configs::<B>(input);
    let configs = &configs[..count];
    let table = DomainTable::new(configs);
    let mut last = B::WIDTH;
    for d in table.domains() {
        assert!(d.prefix.prefix_len() <= last, "not longest prefix first");
        last = d.prefix.prefix_len();
    }
    // The naive answer: the active domain with the longest prefix holding `addr`, the
    // lowest number on ties.
    let naive = |addr: B| {
        let mut best: Option<(u8, usize)> = None;
        for (i, c) in configs.iter().enumerate() {
            let Some(net) = c.net_addr() else { continue };
            let Ok(prefix) = Prefix::new(net, c.prefix_len()) else {
                continue;
            };
            if prefix.contains(addr) && best.is_none_or(|(len, _)| prefix.prefix_len() > len) {
                best = Some((prefix.prefix_len(), i));
            }
        }
        best.map(|(_, i)| i)
    };
    while !input.0.is_empty() {
        let (src, dst) = (B::draw(input), B::draw(input));
        let src_domain = naive(src);
        assert_eq!(
            table.domain_of(src).map(|d| usize::from(d.index)),
            src_domain
        );
        let expected = match (naive(dst), src_domain) {
            (Some(_), _) | (None, None) => None,
            (None, Some(i)) => Some((i, configs[i].def_router())),
        };
        let got = table.route(src, dst);
        match (expected, got) {
            (None, Route::Usual) => {}
            (Some((i, Some(router))), Route::ViaRouter { index, router: r }) => {
                assert_eq!((usize::from(index), r), (i, router));
            }
            (Some((i, None)), Route::Confined { index }) => assert_eq!(usize::from(index), i),
            (expected, got) => panic!("route({src:?}, {dst:?}): {got:?}, naive {expected:?}"),
        }
    }
}

/// A host drawn from input: its addresses and a routing table that sends every
/// destination out of one interface (or none).
struct FuzzHost<B> {
    addrs: [LocalAddr<B>; MAX_SOURCES],
    n: usize,
    no_route: u8,
}

impl<B: Draw> Host<B> for FuzzHost<B> {
    fn addresses(&self) -> &[LocalAddr<B>] {
        &self.addrs[..self.n]
    }

    fn route_oif(&self, dst: B, _ifindex: i32) -> Option<i32> {
        let mut octets = [0u8; 16];
        dst.write(&mut octets);
        let last = octets[B::LEN - 1];
        (last != self.no_route).then_some(i32::from(last % 4))
    }
}

/// Address selection (`SITEMH_SO_PAIRS`, `SITEMH_SO_SRCADDRS`) over a drawn table, host
/// and destinations: for destinations outside the domains the cached expansion gives the
/// same pairs in the same order as forming and ranking every pair.
pub fn select(data: &[u8]) {
    let mut input = Input(data);
    if input.u8() & 1 == 0 {
        select_family::<u32>(&mut input);
    } else {
        select_family::<u128>(&mut input);
    }
}

fn select_family<B: Draw>(input: &mut Input<'_>) {
    let (configs, count) = draw_configs::<B>(input);
    let table = DomainTable::new(&configs[..count]);
    let mut host = FuzzHost {
        addrs: [LocalAddr::default(); MAX_SOURCES],
        n: usize::from(input.u8()) % (MAX_SOURCES + 1),
        no_route: input.u8(),
    };
    for a in host.addrs.iter_mut().take(host.n) {
        *a = LocalAddr {
            addr: B::draw(input),
            ifindex: i32::from(input.u8() % 4),
        };
    }
    let mut info = PathInfo::default();
    for (attrs, down) in info.attrs.iter_mut().zip(info.down.iter_mut()) {
        let flags = input.u8();
        if flags & 1 != 0 {
            attrs.customer_bandwidth = input.u32();
            attrs.gross_bandwidth = input.u32();
            attrs.path_bandwidth = input.u32();
            attrs.unused_bandwidth = input.u32();
            attrs.hops = input.u32();
            attrs.latency_us = input.u32();
        }
        *down = flags & 2 != 0;
        let _ = attrs.effective_bandwidth();
    }
    let flags = input.u8();
    let home = (flags & 1 != 0).then(|| B::draw(input));
    let service = Service::of_tos(input.u8());
    let ndst = usize::from(input.u8()) % (MAX_DESTS + 2);
    let mut dsts = [B::ZERO; MAX_DESTS + 1];
    for d in dsts.iter_mut().take(ndst) {
        *d = B::draw(input);
    }
    let dsts = &dsts[..ndst];
    let rtt = (flags & 2 != 0).then(|| input.u32());

    let mut sources = [B::ZERO; MAX_SOURCES];
    for &dst in dsts {
        let n = select::sources_for(&table, &host, dst, home, &mut sources);
        assert!(n <= MAX_SOURCES);
    }
    let mut all = [Pair::default(); MAX_SOURCES * MAX_DESTS];
    let expected = match select::candidate_pairs(&table, &host, dsts, home, &mut all) {
        Ok(n) => n,
        Err(_) => 0,
    };
    let mut ranked = [Ranked::default(); MAX_SOURCES * MAX_DESTS];
    for (r, &pair) in ranked.iter_mut().zip(&all[..expected]) {
        *r = Ranked::new(&table, &info, pair, rtt);
    }
    select::rank(&mut ranked[..expected], service);
    for w in ranked[..expected].windows(2) {
        assert!(
            !w[0].down || w[1].down,
            "a path known down ranked before a working one"
        );
    }
    if dsts.is_empty() || dsts.iter().any(|&d| table.domain_of(d).is_some()) || rtt.is_some() {
        return;
    }
    let mut outside = [Ranked::default(); MAX_SOURCES];
    let class = select::outside_class(dsts);
    let count =
        select::rank_outside_sources(&table, &host, &info, class, home, service, &mut outside);
    let mut out = [Ranked::default(); MAX_SOURCES * MAX_DESTS];
    let n = select::expand_outside(&outside[..count], service, dsts, &mut out);
    assert_eq!(
        out[..n],
        ranked[..expected],
        "expansion differs from ranking"
    );
}

/// The socket options' structs (either family), with the key derivation `SO_SEQPARAM`
/// feeds: what parses writes back to the same octets.
pub fn sockopt(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.u8();
    let value = input.rest();
    if selector & 1 == 0 {
        sockopt_family::<u32>(selector, value);
    } else {
        sockopt_family::<u128>(selector, value);
    }
}

fn sockopt_family<B: Draw>(selector: u8, value: &[u8]) {
    match (selector >> 1) % 5 {
        0 => {
            if let Ok((request, room)) = PairsRequest::<B>::parse(value) {
                let header = PairsRequest::<B>::HEADER_LEN;
                assert!(header + room * PairsRequest::<B>::PAIR_LEN <= value.len());
                let mut out = [0u8; PairsRequest::<u128>::HEADER_LEN];
                request.write(&mut out).expect("room for the header");
                assert_eq!(PairsRequest::<B>::parse(&out[..header]), Ok((request, 0)));
                assert_eq!(out[..4], value[..4]);
                let n = request.dsts().len();
                assert_eq!(out[16..16 + n * B::LEN], value[16..16 + n * B::LEN]);
            }
        }
        1 => {
            let _ = sockopt::parse_srcaddrs::<B>(value);
        }
        2 => {
            if let Ok(routes) = LfRoutes::<B>::parse(value) {
                let mut out = [0u8; MAX_LFROUTES * 32];
                let len = routes.write(&mut out).expect("room for the routes");
                assert_eq!(out[..len], *value);
                let _ = Routes::new(routes.as_slice()).expect("1..=16 routes");
            }
        }
        3 => {
            if let Ok(stat) = sockopt::parse_lfstat(value) {
                assert_eq!(u32::from(stat).to_ne_bytes(), value);
            }
        }
        _ => {
            if let Ok(param) = SeqParam::parse(value) {
                let mut out = [0u8; SEQPARAM_LEN];
                param.write(&mut out);
                assert_eq!(SeqParam::parse(&out), Ok(param));
                let keys = match param {
                    SeqParam::Tls12 {
                        master,
                        client_random,
                        server_random,
                        is_client,
                    } => Keys::from_tls12(master, client_random, server_random, is_client),
                    SeqParam::Exporter { block, is_client } => {
                        Keys::from_key_block(block, is_client)
                    }
                };
                let _ = linkfail_nonce(&keys);
            }
            if selector & 1 == 0 {
                careof::<u32>(value);
            } else {
                careof::<u128>(value);
            }
        }
    }
}

fn careof<A: HomeAddr>(value: &[u8]) {
    if let Ok((home, careof)) = sockopt::parse_careof::<A>(value) {
        let mut out = [0u8; 32];
        let len = sockopt::write_careof(home, careof, &mut out).expect("room");
        assert_eq!(out[..len], value[..len]);
        assert!(home.usable_as_home());
    }
}

fn linkfail_nonce(keys: &Keys) -> [u8; 12] {
    crate::logic::kdf::nonce(&keys.seal_salt, 1)
}

/// The binding key the harness signs with.
const BINDING_KEY: [u8; KEY_LEN] = [0x5a; KEY_LEN];

/// A home-address-family address from input (zero-padded at its end).
fn draw_home<A: HomeAddr>(input: &mut Input<'_>) -> A {
    let mut octets = [0u8; 16];
    let taken = input.take(A::LEN);
    octets[..taken.len()].copy_from_slice(taken);
    A::read(&octets)
}

/// Binding updates and errors of the home-address path (either family), and the binding
/// key's text: an update signed with the key parses back to what was written, unless its
/// addresses, source or time are refused; one changed octet makes it fail; what the key
/// knob parses prints back to the same key.
pub fn binding_update(data: &[u8]) {
    let mut input = Input(data);
    let selector = input.u8();
    if selector & 1 == 0 {
        binding_family::<u32>(selector, &mut input);
    } else {
        binding_family::<u128>(selector, &mut input);
    }
}

fn binding_family<A: HomeAddr>(selector: u8, input: &mut Input<'_>) {
    let type_ = if selector & 2 == 0 {
        ICMP_LINKFAILURE
    } else {
        200
    };
    let update = BindingUpdate {
        home: draw_home::<A>(input),
        careof: draw_home::<A>(input),
        timestamp_ms: input.u64(),
        lifetime_s: input.u16(),
    };
    let dst = draw_home::<A>(input);
    let now = input.u64();
    let src = if selector & 4 == 0 {
        update.careof
    } else {
        draw_home::<A>(input)
    };
    let mut out = [0u8; UPDATE_MAX];
    let len = binding_update::write_update(&BINDING_KEY, type_, &update, dst, &mut out)
        .expect("room for an update");
    match binding_update::parse_update::<A>(&BINDING_KEY, type_, &out[..len], src, dst, now) {
        Ok(parsed) => {
            assert_eq!((parsed.home, parsed.careof), (update.home, update.careof));
            assert_eq!(parsed.timestamp_ms, update.timestamp_ms);
            assert_eq!(
                parsed.lifetime_s,
                update.lifetime_s.clamp(1, MAX_LIFETIME_S)
            );
            assert!(parsed.home.usable_as_home() && parsed.careof.usable_as_home());
            assert!(parsed.home != parsed.careof && parsed.home != dst && src == parsed.careof);
        }
        Err(e @ (UpdateError::BadTag | UpdateError::Length | UpdateError::NotAnUpdate)) => {
            panic!("an update signed with the key refused: {e:?}")
        }
        Err(_) => {}
    }
    // Any octet but the checksum's changed: the tag no longer verifies.
    let at = 4 + usize::from(input.u8()) % (len - 4);
    let mut changed = out;
    changed[at] ^= 1 << (selector >> 5);
    assert!(
        binding_update::parse_update::<A>(&BINDING_KEY, type_, &changed[..len], src, dst, now)
            .is_err()
    );

    let message = input.rest();
    let _ = binding_update::parse_update::<A>(&BINDING_KEY, type_, message, src, dst, now);
    if let Some(home) = binding_update::parse_error::<A>(type_, message) {
        let mut out = [0u8; 32];
        let len = binding_update::write_error(type_, home, &mut out).expect("room");
        assert_eq!(
            binding_update::parse_error::<A>(type_, &out[..len]),
            Some(home)
        );
    }
    if let Ok(Some(key)) = binding_update::parse_key(message) {
        let mut hex = [0u8; 2 * KEY_LEN];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(key) {
            pair[0] = b"0123456789abcdef"[usize::from(byte >> 4)];
            pair[1] = b"0123456789abcdef"[usize::from(byte & 15)];
        }
        assert_eq!(binding_update::parse_key(&hex), Ok(Some(key)));
    }
}

/// The packet octets the glue hands over (first octet: which), through the parsers that
/// decide on them: an echo probe's reply (0: IPv4, 1: IPv6, with identifier and sequence
/// number first), a TCP SYN header whose MSS is lowered (2, delta first), an ICMP error
/// (3) or ICMPv6 error (4) and what it quotes.
pub fn packet(data: &[u8]) {
    let mut input = Input(data);
    match input.u8() % 5 {
        kind @ (0 | 1) => {
            let family = if kind == 0 { probe::AF_INET } else { 10 };
            let (id, seq) = (input.u16(), input.u16());
            let dst: [u8; 16] = input.bytes();
            let packet = input.rest();
            if probe::is_echo_reply(family, Some(&dst), &dst, packet, id, seq) {
                let off = if kind == 0 {
                    usize::from(packet[0] & 0x0f) * 4
                } else {
                    0
                };
                let mut ids = [0u8; 4];
                ids[..2].copy_from_slice(&id.to_be_bytes());
                ids[2..].copy_from_slice(&seq.to_be_bytes());
                assert_eq!(&packet[off + 4..off + 8], &ids);
            }
            // The reply to our own request always matches, from its destination only.
            let mut reply = probe::echo_request(family, id, seq);
            reply[0] = if kind == 0 { 0 } else { 129 };
            let mut buf = [0x45u8; 20 + probe::ECHO_LEN];
            let off = if kind == 0 { 20 } else { 0 };
            buf[off..off + probe::ECHO_LEN].copy_from_slice(&reply);
            let wrapped = &buf[..off + probe::ECHO_LEN];
            assert!(probe::is_echo_reply(
                family,
                Some(&dst),
                &dst,
                wrapped,
                id,
                seq
            ));
            assert!(!probe::is_echo_reply(family, None, &dst, wrapped, id, seq));
        }
        2 => {
            let delta = input.u16();
            let rest = input.rest();
            // Longer than any TCP header (60 octets).
            let mut buf = [0u8; 64];
            let len = rest.len().min(buf.len());
            buf[..len].copy_from_slice(&rest[..len]);
            let before = buf;
            let _ = tcp::syn(&buf[..len]);
            match tcp::lower_mss(&mut buf[..len], delta) {
                None => assert_eq!(buf, before),
                Some((old, new)) => {
                    assert!(new <= old && (new >= tcp::MIN_MSS || new == old));
                    let changed = (0..len).filter(|&i| buf[i] != before[i]);
                    assert!(changed.clone().count() <= 2);
                    assert!(changed.clone().all(|i| i >= tcp::HEADER_LEN + 2));
                }
            }
        }
        3 => {
            if let Some(q) = icmp_error::quote4(input.rest()) {
                assert!(q.proto == icmp_error::IPPROTO_TCP || q.proto == icmp_error::IPPROTO_UDP);
            }
        }
        _ => {
            if let Some(q) = icmp_error::quote6(input.rest()) {
                assert!(q.proto == icmp_error::IPPROTO_TCP || q.proto == icmp_error::IPPROTO_UDP);
            }
        }
    }
}

/// Sealed messages and notices as a peer sends them, for the seed corpora.
#[cfg(test)]
mod seeds {
    use super::*;
    use crate::logic::linkfail::{IdPcb, Notice, Notice6};
    use std::{vec, vec::Vec};

    fn with(selector: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![selector];
        v.extend_from_slice(body);
        v
    }

    fn sealed_message<B: WireAddr>(
        type_: u8,
        code: u8,
        pcb: IdPcb<B>,
        alt: AltRoute<B>,
    ) -> Vec<u8> {
        let mut out = vec![0u8; Layout::<B>::LEN];
        linkfail::write_clear(type_, code, &pcb, 7, &mut out);
        alt.write(&mut out[Layout::<B>::CIPHERTEXT..Layout::<B>::TAG]);
        linkfail::finish_checksum(&mut out);
        out
    }

    fn route_list<B: WireAddr>(type_: u8, code: u8, pcb: IdPcb<B>, addrs: &[B]) -> Vec<u8> {
        let list = RouteList {
            code,
            stamp: 3_000,
            addrs: AddrList::of(addrs.iter().copied()),
        };
        let mut out = vec![0u8; Layout::<B>::len_for(list.len())];
        linkfail::write_clear_len(type_, code, &pcb, 9, list.len(), &mut out);
        list.write(&mut out[Layout::<B>::CIPHERTEXT..]);
        linkfail::finish_checksum(&mut out);
        assert!(linkfail::parse_sealed::<B>(type_, &out, false).is_ok());
        out
    }

    /// The seeds of each target: valid messages and their edge cases.
    pub(super) fn all() -> Vec<(&'static str, &'static str, Vec<u8>)> {
        let mut seeds = Vec::new();
        let mut notice4 = [0u8; NOTICE_LEN];
        linkfail::write_notice(
            ICMP_LINKFAILURE,
            &Notice {
                code: linkfail::CODE_CE_PE_LINK,
                gateway: 0xc000_0201,
            },
            &mut notice4,
        );
        seeds.push(("notice", "v4-pe-link", with(0, &notice4)));
        seeds.push(("notice", "v4-truncated", with(0, &notice4[..7])));
        let mut notice6 = [0u8; NOTICE6_LEN];
        let (src, dst) = (0xfe80u128 << 112 | 1, 0xff02u128 << 112 | 1);
        linkfail::write_notice6(
            200,
            &Notice6 {
                code: linkfail::CODE_LINK_RESTORED,
                gateway: linkfail::ipv4_mapped(0xc000_0201),
            },
            &mut notice6,
        );
        let sum = linkfail::icmpv6_checksum(src, dst, &notice6);
        notice6[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut v6 = vec![1];
        v6.extend_from_slice(&src.to_be_bytes());
        v6.extend_from_slice(&dst.to_be_bytes());
        v6.extend_from_slice(&notice6);
        assert!(linkfail::parse_notice6(200, &notice6, src, dst).is_ok());
        seeds.push(("notice", "v6-restored", v6));
        let announced = announce::Announced {
            copy: 1,
            lifetime_s: 30,
            boot: 0x1234_5678,
            seq: 9,
        };
        let failure = Notice {
            code: linkfail::CODE_CE_FAILURE,
            gateway: 0xc633_6482,
        };
        let mut m = [0u8; announce::NOTICE_MAX];
        let len = announce::write_announced(ICMP_LINKFAILURE, &failure, &announced, None, &mut m);
        seeds.push(("notice", "v4-announced", with(0, &m[..len])));
        let seal = announce::Seal {
            key: &[7; announce::KEY_LEN],
            src: &[10, 0, 0, 1],
            time_ms: 1_700_000_000_000,
        };
        let len =
            announce::write_announced(ICMP_LINKFAILURE, &failure, &announced, Some(&seal), &mut m);
        seeds.push(("notice", "v4-sealed", with(0, &m[..len])));

        let pcb4 = IdPcb {
            proto: 6,
            laddr: 0xc633_640au32,
            faddr: 0xcb00_710a,
            lport: 5000,
            fport: 7000,
        };
        let alt4 = AltRoute {
            code: linkfail::CODE_SET_ALT_ROUTE,
            stamp: 1_000,
            src: 0xc000_020au32,
            dst: 0xcb00_710a,
        };
        let set4 = sealed_message(ICMP_LINKFAILURE, linkfail::CODE_SET_ALT_ROUTE, pcb4, alt4);
        assert!(linkfail::parse_sealed::<u32>(ICMP_LINKFAILURE, &set4, true).is_ok());
        seeds.push(("sealed", "v4-set-alt-route", with(0x10, &set4)));
        let est4 = sealed_message(
            ICMP_LINKFAILURE,
            linkfail::CODE_ALT_ROUTE_ESTABLISHED,
            pcb4,
            AltRoute {
                code: linkfail::CODE_ALT_ROUTE_ESTABLISHED,
                ..alt4
            },
        );
        seeds.push(("sealed", "v4-established", with(0x18, &est4)));
        seeds.push((
            "sealed",
            "v4-trailing",
            with(0, &[&set4[..], &[0u8][..]].concat()),
        ));
        let pcb6 = IdPcb {
            proto: 17,
            laddr: 0x2001_0db8u128 << 96 | 1,
            faddr: 0x2001_0db8u128 << 96 | 2,
            lport: 5000,
            fport: 7000,
        };
        let alt6 = AltRoute {
            code: linkfail::CODE_SET_ALT_ROUTE,
            stamp: 2_000,
            src: 0x2001_0db8_0001u128 << 80 | 1,
            dst: 0x2001_0db8_0002u128 << 80 | 2,
        };
        let set6 = sealed_message(200, linkfail::CODE_SET_ALT_ROUTE, pcb6, alt6);
        assert!(linkfail::parse_sealed::<u128>(200, &set6, false).is_ok());
        seeds.push(("sealed", "v6-set-alt-route", with(0x27, &set6)));
        seeds.push((
            "sealed",
            "v4-route-list",
            with(
                0x10,
                &route_list(
                    ICMP_LINKFAILURE,
                    linkfail::CODE_ROUTE_LIST,
                    pcb4,
                    &[0xc633_640a, 0xcb00_710a],
                ),
            ),
        ));
        seeds.push((
            "sealed",
            "v6-route-list-ack",
            with(
                0x2f,
                &route_list(
                    200,
                    linkfail::CODE_ROUTE_LIST_ACK,
                    pcb6,
                    &[1u128 << 100, 2, 3, 4],
                ),
            ),
        ));

        seeds.push((
            "stacking",
            "v4-draft-type1",
            with(0, &stacking::vectors::IPV4_TYPE1),
        ));
        seeds.push((
            "stacking",
            "v4-draft-type2",
            with(0, &stacking::vectors::IPV4_TYPE2),
        ));
        seeds.push((
            "stacking",
            "v4-rfc791-type2-after-nops",
            with(
                2,
                &[
                    &[1u8, 1, 7, 3, 4][..],
                    &stacking::vectors::IPV4_TYPE2_RFC791[..],
                ]
                .concat(),
            ),
        ));
        seeds.push(("stacking", "v4-bad-length", with(0, &[0x83, 1, 0, 0])));
        let mut rh = [0u8; 40];
        let both = Stacking::Both {
            sender_home: stacking::vectors::HOME6,
            receiver_home: stacking::vectors::HOME6 + 1,
        };
        let len = stacking::write_rh(6, &both, &mut rh).expect("room");
        seeds.push(("stacking", "v6-rh2-type2", with(1, &rh[..len])));
        let len = stacking::write_rh(
            17,
            &Stacking::Sender {
                sender_home: stacking::vectors::HOME6,
            },
            &mut rh,
        )
        .expect("room");
        seeds.push(("stacking", "v6-rh2-type1", with(1, &rh[..len])));

        for (name, text) in [
            ("v4-addr", &b"192.0.2.1\n"[..]),
            ("v4-mask", b"255.255.255.0"),
            ("slash-len", b"/24"),
            ("v6-addr", b"2001:db8::1"),
            ("v6-mapped", b"::ffff:192.0.2.1"),
            ("v6-router", b"fe80::1%eth0"),
            ("decimal", b" 999999999 "),
            ("empty", b""),
            ("ports", b"22 443,8000-8080 1 2 3 4 65535"),
        ] {
            seeds.push(("sysctl_text", name, text.to_vec()));
        }

        let domain4 = |addr: u32, len: u8, router: u32| {
            let mut v = vec![0u8];
            v.extend_from_slice(&addr.to_be_bytes());
            v.push(len);
            v.extend_from_slice(&router.to_be_bytes());
            v
        };
        let mut two = vec![0u8, 2];
        two.extend(domain4(0xc633_6400, 24, 0xc633_6401));
        two.extend(domain4(0x0a00_0000, 8, 0));
        let mut probes = two.clone();
        for (s, d) in [
            (0xc633_640au32, 0x0808_0808u32),
            (0x0a00_0001, 0x0808_0808),
            (0x0a00_0001, 0xc633_6401),
        ] {
            probes.extend_from_slice(&s.to_be_bytes());
            probes.extend_from_slice(&d.to_be_bytes());
        }
        seeds.push(("domains", "v4-public-and-private", probes));
        seeds.push(("domains", "v4-sixteen-empty", vec![0, 16]));
        seeds.push(("domains", "v6-one", {
            let mut v = vec![1, 1, 0];
            v.extend_from_slice(&(0x2001_0db8u128 << 96).to_be_bytes());
            v.push(32);
            v.extend_from_slice(&(0xfe80u128 << 112 | 1).to_be_bytes());
            v
        }));

        let mut sel = two.clone();
        sel.extend_from_slice(&[3, 0xff]);
        for (addr, ifindex) in [(0xc633_640au32, 1u8), (0x0a00_0001, 2), (0xcb00_710a, 3)] {
            sel.extend_from_slice(&addr.to_be_bytes());
            sel.push(ifindex);
        }
        sel.extend_from_slice(&[0; MAX_DOMAINS]);
        sel.extend_from_slice(&[0, 0, 2]);
        sel.extend_from_slice(&0x0808_0808u32.to_be_bytes());
        sel.extend_from_slice(&0x0101_0101u32.to_be_bytes());
        seeds.push(("select", "v4-two-outside-dsts", sel));
        seeds.push(("select", "v6-empty", vec![1]));

        let request = PairsRequest::new(&[0xc000_0201u32, 0xc000_0202]).expect("two");
        let mut buf =
            vec![0u8; PairsRequest::<u32>::HEADER_LEN + 2 * PairsRequest::<u32>::PAIR_LEN];
        request.write(&mut buf).expect("room");
        seeds.push(("sockopt", "v4-pairs", with(0, &buf)));
        let routes = LfRoutes::new(&[(1u128, 2), (3, 4)]).expect("two");
        let mut buf = vec![0u8; 64];
        let len = routes.write(&mut buf).expect("room");
        seeds.push(("sockopt", "v6-lfroutes", with(5, &buf[..len])));
        seeds.push(("sockopt", "lfstat", with(6, &1u32.to_ne_bytes())));
        let block = [7u8; 40];
        let mut buf = [0u8; SEQPARAM_LEN];
        SeqParam::Exporter {
            block: &block,
            is_client: true,
        }
        .write(&mut buf);
        seeds.push(("sockopt", "seqparam-exporter", with(8, &buf)));
        let mut buf = [0u8; 8];
        sockopt::write_careof(0xc633_640au32, 0xcb00_710a, &mut buf).expect("room");
        seeds.push(("sockopt", "v4-careof", with(8, &buf)));

        // home 100.64.0.5, care-of 198.51.100.10, timestamp 1000, lifetime 120, to
        // 192.0.2.200 at 1000, from the care-of address.
        let mut bu = vec![0u8];
        bu.extend_from_slice(&[100, 64, 0, 5, 198, 51, 100, 10]);
        bu.extend_from_slice(&1000u64.to_be_bytes());
        bu.extend_from_slice(&120u16.to_be_bytes());
        bu.extend_from_slice(&[192, 0, 2, 200]);
        bu.extend_from_slice(&1000u64.to_be_bytes());
        bu.push(9);
        seeds.push(("binding_update", "v4-valid", bu.clone()));
        bu.extend_from_slice(&[b'a'; 64]);
        seeds.push(("binding_update", "v4-valid-then-key", bu));
        let mut bu6 = vec![1u8];
        bu6.extend_from_slice(&(0x2001_0db8_00aau128 << 80 | 5).to_be_bytes());
        bu6.extend_from_slice(&(0x2001_0db8_0001u128 << 80 | 0x10).to_be_bytes());
        bu6.extend_from_slice(&5u64.to_be_bytes());
        bu6.extend_from_slice(&0u16.to_be_bytes());
        bu6.extend_from_slice(&(0x2001_0db8_00bbu128 << 80 | 7).to_be_bytes());
        bu6.extend_from_slice(&5u64.to_be_bytes());
        seeds.push(("binding_update", "v6-lifetime-0", bu6));

        // An echo reply to 192.0.2.1 with identifier 0x1234 and sequence number 7, under
        // its IPv4 header; an IPv6 one.
        let mut echo4 = vec![0u8, 0x12, 0x34, 0, 7, 192, 0, 2, 1];
        echo4.extend_from_slice(&[0; 12]);
        echo4.extend_from_slice(&[0x45; 20]);
        echo4.extend_from_slice(&[0, 0, 0, 0, 0x12, 0x34, 0, 7]);
        seeds.push(("packet", "echo-v4-reply", echo4));
        let mut echo6 = vec![1u8, 0, 1, 0, 2, 0x20, 1, 0x0d, 0xb8];
        echo6.extend_from_slice(&[0; 11]);
        echo6.push(1);
        echo6.extend_from_slice(&[129, 0, 0, 0, 0, 1, 0, 2]);
        seeds.push(("packet", "echo-v6-reply", echo6));
        // A SYN with NOP, NOP, window scale, MSS 1460, lowered by 12.
        let mut syn = vec![2u8, 0, 12];
        let mut th = [0u8; 20];
        th[12] = 7 << 4;
        th[13] = 0x02;
        syn.extend_from_slice(&th);
        syn.extend_from_slice(&[1, 1, 3, 3, 7, 2, 4, 0x05, 0xb4, 0, 0, 0]);
        seeds.push(("packet", "tcp-syn-mss", syn));
        // Port unreachable quoting UDP 192.0.2.1:1000 -> 198.51.100.2:53.
        let mut unreach = vec![3u8, 3, 3, 0, 0, 0, 0, 0, 0];
        let mut qh = [0u8; 20];
        qh[0] = 0x45;
        qh[9] = 17;
        qh[12..16].copy_from_slice(&[192, 0, 2, 1]);
        qh[16..20].copy_from_slice(&[198, 51, 100, 2]);
        unreach.extend_from_slice(&qh);
        unreach.extend_from_slice(&[0x03, 0xe8, 0, 53, 0, 8, 0, 0]);
        seeds.push(("packet", "icmp4-port-unreachable", unreach));
        // Packet too big quoting TCP 2001:db8::1:1000 -> 2001:db8::2:80.
        let mut toobig = vec![4u8, 2, 0, 0, 0, 0, 0, 0x05, 0x00];
        let mut q6 = [0u8; 40];
        q6[0] = 0x60;
        q6[6] = 6;
        q6[8..24].copy_from_slice(&(0x2001_0db8u128 << 96 | 1).to_be_bytes());
        q6[24..40].copy_from_slice(&(0x2001_0db8u128 << 96 | 2).to_be_bytes());
        toobig.extend_from_slice(&q6);
        toobig.extend_from_slice(&[0x03, 0xe8, 0, 80]);
        seeds.push(("packet", "icmp6-packet-too-big", toobig));
        seeds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{fs, path::PathBuf, string::String};

    fn seed_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
    }

    /// Every committed seed runs clean through its harness, every target has seeds, and
    /// the generated seeds are committed (`SITEMH_WRITE_SEEDS=1 cargo test` writes them).
    #[test]
    fn fuzz_seed_corpora_run_clean() {
        let dir = seed_dir();
        let write = std::env::var_os("SITEMH_WRITE_SEEDS").is_some();
        for (target, name, bytes) in seeds::all() {
            let path = dir.join(target).join(name);
            if write {
                fs::create_dir_all(dir.join(target)).unwrap();
                fs::write(&path, &bytes).unwrap();
            }
            let committed = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                committed,
                bytes,
                "{} differs from its generator",
                path.display()
            );
        }
        for (target, harness) in TARGETS {
            let mut count = 0;
            for entry in fs::read_dir(dir.join(target)).unwrap() {
                let path = entry.unwrap().path();
                harness(&fs::read(&path).unwrap());
                count += 1;
            }
            assert!(count >= 2, "{target}: only {count} seeds");
        }
    }

    /// The targets in `rust/fuzz/Cargo.toml` are exactly [`TARGETS`].
    #[test]
    fn fuzz_targets_are_all_built() {
        let manifest = fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/Cargo.toml"),
        )
        .unwrap();
        let names: std::vec::Vec<String> = manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .map(|n| n.trim_end_matches('"').into())
            .filter(|n: &String| n != "sitemh-fuzz")
            .collect();
        let targets: std::vec::Vec<String> = TARGETS.iter().map(|(n, _)| (*n).into()).collect();
        assert_eq!(names, targets);
    }

    /// Stacked home addresses round-trip through both IPv4 layouts and the routing header
    /// wherever the option stands among others (random inputs rarely parse, so the
    /// harness alone would seldom check this).
    #[test]
    fn stacking_round_trips_for_random_home_addresses() {
        let mut next = crate::logic::xorshift(0x0144_0002);
        let mut checked = 0;
        for _ in 0..5000 {
            let (a, b) = (next() as u32, next() as u32);
            let (a6, b6) = (
                u128::from(next()) << 64 | u128::from(next()),
                u128::from(next()),
            );
            let kind = next() % 3;
            let (first, second) = (kind != 0, kind != 1);
            let s4 = Stacking::of(first.then_some(a), second.then_some(b));
            let s6 = Stacking::of(first.then_some(a6), second.then_some(b6));
            let (Some(s4), Some(s6)) = (s4, s6) else {
                continue;
            };
            let usable4 = (!first || a.usable_as_home()) && (!second || b.usable_as_home());
            for layout in [Ipv4Layout::Draft, Ipv4Layout::Rfc791] {
                let nops = (next() % 4) as usize;
                let mut options = [1u8; IPV4_OPTIONS_MAX];
                let len = stacking::write_ipv4_option(&s4, layout, &mut options[nops..]).unwrap();
                options[nops + len..].fill(0);
                let found = stacking::find_ipv4_option(&options, layout);
                if usable4 {
                    assert_eq!(found, Ok(Some((nops, s4))));
                    checked += 1;
                } else {
                    assert!(found.is_err());
                }
                stacking(
                    &[
                        &[if layout == Ipv4Layout::Draft { 0 } else { 2 }][..],
                        &options,
                    ]
                    .concat(),
                );
            }
            let mut rh = [0u8; 40];
            let len = stacking::write_rh(17, &s6, &mut rh).unwrap();
            if (!first || a6.usable_as_home()) && (!second || b6.usable_as_home()) {
                assert_eq!(stacking::parse_rh(&rh[..len]), Ok((17, s6)));
            }
            stacking(&[&[1u8][..], &rh[..len]].concat());
        }
        assert!(checked > 1000, "only {checked} valid cases");
    }

    /// Random inputs, a few thousand per harness: the cheap version of the fuzz run.
    #[test]
    fn fuzz_harnesses_survive_random_inputs() {
        let mut next = crate::logic::xorshift(0x5eed_f022);
        let mut buf = [0u8; 600];
        for (_, harness) in TARGETS {
            for round in 0..3000 {
                let len = (next() as usize) % (1 + round % buf.len());
                for b in buf.iter_mut().take(len) {
                    *b = next() as u8;
                }
                harness(&buf[..len]);
            }
        }
    }
}
