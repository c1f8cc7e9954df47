// SPDX-License-Identifier: GPL-2.0

//! Home addresses and IP address stacking on the packet path (draft 2.2, 2.2.1, 2.3,
//! 2.3.4), IPv4 and IPv6.
//!
//! Configured per namespace and family (`net.ipv4.` shown; `net.ipv6.` the same):
//! - `net.ipv4.ip_home_addr` (with the selection's `ip_use_homeaddr`, see `domains.rs`): the
//!   node's home (or provider-independent) address, which its sockets use.
//! - `net.ipv4.sitemh_home.careof_addr`: its co-located care-of address, one of the
//!   addresses of the site it is in (draft 2.2: "bound to one of the IP addresses supported
//!   by the service providers"); `0.0.0.0` (the default) or the home address itself: at
//!   home, or found when packets come through the home agent (below).
//! - `net.ipv4.sitemh_home.correspondent`: 1 to restore and answer stacked packets from
//!   peers away from home without being away itself.
//!
//! `ip_use_homeaddr` changes only what `getsrcaddr` and `gethostbynamewithsrcaddr` offer,
//! so what new connections choose: the packets of a socket bound to the home address are
//! stacked whatever it says, and connections keep working when it is toggled.
//!
//! Away from home, a packet from the home address leaves with the care-of address as its
//! source and the home address stacked (type 1); one to a peer whose binding is known goes
//! to that peer's care-of address with the peer's home address stacked (type 0; both: type
//! 2). Arriving stacked packets for this node get their home addresses back before any
//! socket sees them (PRE_ROUTING), and teach the node the peer's binding. A TCP SYN that
//! leaves stacked advertises an MSS lower by the most stacking adds (12 octets of IPv4
//! option, 40 of IPv6 routing header), so that the peer's segments still fit the path.
//!
//! Packets may also reach the home address through the home agent, tunnelled (IP in IP)
//! to the care-of address (draft 2.3.4's second mode): the stack decapsulates them and
//! they pass here unstacked. With no care-of address configured, the node then finds it
//! itself, the tunnel's local end or the first provider address on its interfaces, and
//! answers stacked from there, so that the peer learns the binding and the rest of the
//! connection goes straight to the care-of address.
//!
//! IPv4 carries the stacked addresses in option 144 (layout: module parameter
//! `stacking_layout`), and checksums are fixed as NAT does. IPv6 carries them in the type 2
//! routing header right after the IPv6 header, and upper-layer checksums stay over the
//! home addresses, as RFC 6275 section 6.4 has them.

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicBool,
        AtomicU32,
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    new_mutex, new_spinlock_irq,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        rcu,
        Arc,
        Mutex,
        SpinLockIrq, //
    },
    uaccess::UserSlice,
};

use crate::{
    domains::{
        Family,
        FamilyState,
        V4,
        V6, //
    },
    ffi::{
        inet::LocalAddrsNow,
        net::{
            current_is_net_admin,
            net_ratelimit,
            Net,
            NetRef, //
        },
        netfilter::{
            LazyHooks,
            Packet,
            Verdict, //
        },
        sysctl::{
            NetSysctlText,
            TextKnob, //
        },
        work::now_ms,
    },
    logic::{
        home::{
            self,
            BindingCache,
            HomeConfig,
            RestoreError,
            Stacked, //
        },
        ipv6,
        stacking::{
            find_ipv4_option,
            ipv4_option_len,
            parse_rh,
            write_ipv4_option,
            write_rh,
            HomeAddr,
            Ipv4Layout,
            Stacking,
            StackingError, //
            IPV4_OPTIONS_MAX,
        },
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
    netns::{
        hook_user,
        SitemhNet, //
    },
};

/// Peers whose bindings are remembered, per family.
const BINDINGS: usize = 64;
/// Local addresses looked through for a care-of address, at most.
const LOCAL_ADDRS_SEEN: usize = 16;
/// `SITEMH_SO_CAREOF`.
pub(crate) const SO_CAREOF: i32 = crate::select::SO_BASE + 5;

/// The IPv4 option layout (module parameter `stacking_layout`).
fn layout() -> Ipv4Layout {
    if crate::stacking_layout() == 1 {
        Ipv4Layout::Draft
    } else {
        Ipv4Layout::Rfc791
    }
}

/// Stacked addresses found in an arriving packet, and where.
pub(crate) struct Found<A> {
    /// Where the option or header starts (IPv4: within the options).
    at: usize,
    len: usize,
    stacking: Stacking<A>,
}

/// What differs between IPv4 and IPv6 stacking on the packet path.
pub(crate) trait StackPath: Family {
    /// The family's bit in the namespace's [`LazyHooks`] users.
    const HOME_HOOKS_BIT: u32;
    /// The knobs' sysctl directory, and its sysctl(8) name for log lines.
    const GROUP: &'static CStr;
    const GROUP_NAME: &'static str;
    /// The first word of the family's `/proc/net/sitemh` line.
    const PROC: &'static str;
    /// What stacking adds to a header at most: a SYN advertises this much less.
    const ROOM: u16;

    fn addrs(packet: &Packet<'_>) -> (Self::Addr, Self::Addr);
    /// Whether the packet may leave the link (not local, broadcast, multicast or
    /// link-scoped): only those travel stacked.
    fn leaves_link(packet: &Packet<'_>, src: Self::Addr, dst: Self::Addr) -> bool;
    fn is_local(packet: &Packet<'_>, addr: Self::Addr) -> bool;
    /// Lowers the MSS a TCP SYN advertises by [`Self::ROOM`].
    fn lower_mss(packet: &mut Packet<'_>) -> Result;
    /// Adds the stacked addresses and puts `out`'s addresses in the header.
    fn stack(packet: &mut Packet<'_>, out: &Stacked<Self::Addr>) -> Result;
    /// The stacked addresses the packet carries; `Ok(None)` if it carries none.
    fn find(packet: &Packet<'_>) -> Result<Option<Found<Self::Addr>>, StackingError>;
    /// Takes the stacked addresses out and puts `src`/`dst` in the header.
    fn unstack(
        packet: &mut Packet<'_>,
        found: &Found<Self::Addr>,
        src: Self::Addr,
        dst: Self::Addr,
    ) -> Result;
}

impl StackPath for V4 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V4;
    const GROUP: &'static CStr = c"net/ipv4/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv4.sitemh_home";
    const PROC: &'static str = "home";
    const ROOM: u16 = 12;

    fn addrs(packet: &Packet<'_>) -> (u32, u32) {
        packet.ipv4_addrs()
    }

    fn leaves_link(packet: &Packet<'_>, _src: u32, _dst: u32) -> bool {
        packet.ipv4_route_is_unicast()
    }

    fn is_local(packet: &Packet<'_>, addr: u32) -> bool {
        packet.ipv4_is_local(addr)
    }

    fn lower_mss(packet: &mut Packet<'_>) -> Result {
        packet.lower_tcp_mss4(Self::ROOM)
    }

    fn stack(packet: &mut Packet<'_>, out: &Stacked<u32>) -> Result {
        let mut option = [0u8; 12];
        let len = write_ipv4_option(&out.stacking, layout(), &mut option).map_err(|_| EINVAL)?;
        packet.lower_tcp_mss4(Self::ROOM)?;
        packet.push_ipv4_option(&option[..len])?;
        packet.translate4(out.src, out.dst, true)
    }

    fn find(packet: &Packet<'_>) -> Result<Option<Found<u32>>, StackingError> {
        let mut options = [0u8; IPV4_OPTIONS_MAX];
        let len = match packet.ipv4_options(&mut options) {
            Some(len) => len,
            None => return Ok(None),
        };
        let Some((at, stacking)) = find_ipv4_option(&options[..len], layout())? else {
            return Ok(None);
        };
        let len = ipv4_option_len(stacking.stacking_type())?;
        Ok(Some(Found { at, len, stacking }))
    }

    fn unstack(packet: &mut Packet<'_>, found: &Found<u32>, src: u32, dst: u32) -> Result {
        packet.blank_ipv4_options(found.at, found.len)?;
        packet.translate4(src, dst, false)
    }
}

impl StackPath for V6 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V6;
    const GROUP: &'static CStr = c"net/ipv6/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv6.sitemh_home";
    const PROC: &'static str = "home6";
    const ROOM: u16 = 40;

    fn addrs(packet: &Packet<'_>) -> (u128, u128) {
        packet.ipv6_addrs()
    }

    fn leaves_link(_packet: &Packet<'_>, src: u128, dst: u128) -> bool {
        !(ipv6::is_multicast(dst) || ipv6::is_link_local(dst) || ipv6::is_link_local(src))
    }

    fn is_local(packet: &Packet<'_>, addr: u128) -> bool {
        packet.ipv6_is_local(addr)
    }

    fn lower_mss(packet: &mut Packet<'_>) -> Result {
        packet.lower_tcp_mss6(Self::ROOM)
    }

    fn stack(packet: &mut Packet<'_>, out: &Stacked<u128>) -> Result {
        let mut rh = [0u8; 40];
        // The next header octet is filled in by the glue.
        let len = write_rh(0, &out.stacking, &mut rh).map_err(|_| EINVAL)?;
        packet.lower_tcp_mss6(Self::ROOM)?;
        packet.push_ipv6_routing_header(out.src, out.dst, &mut rh[..len])
    }

    fn find(packet: &Packet<'_>) -> Result<Option<Found<u128>>, StackingError> {
        let mut rh = [0u8; 40];
        let len = match packet.ipv6_routing_header(&mut rh) {
            Some(0) | None => return Ok(None),
            Some(len) => len,
        };
        match parse_rh(&rh[..len]) {
            Ok((_, stacking)) => {
                let len = crate::logic::stacking::rh_len(stacking.stacking_type())?;
                Ok(Some(Found {
                    at: 0,
                    len,
                    stacking,
                }))
            }
            // Another routing header (segment routing, say): not ours to judge.
            Err(StackingError::NotStacking) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn unstack(packet: &mut Packet<'_>, found: &Found<u128>, src: u128, dst: u128) -> Result {
        packet.pull_ipv6_routing_header(src, dst, found.len)
    }
}

#[derive(Default)]
struct Counters {
    /// Packets sent stacked.
    stacked: AtomicU64,
    /// Stacked packets given their home addresses back.
    restored: AtomicU64,
    /// Stacked packets dropped: malformed, or not for this node's addresses.
    refused: AtomicU64,
    /// Packets that reached the home address unstacked while it is outside the domains:
    /// through the home agent's tunnel.
    tunnelled: AtomicU64,
}

/// The home-address state of one family in one namespace.
#[pin_data]
pub(crate) struct Home<F: StackPath> {
    /// Serialises the knobs' writes, so that two of them cannot undo each other.
    #[pin]
    writers: Mutex<()>,
    correspondent: AtomicBool,
    #[pin]
    bindings: SpinLockIrq<BindingCache<F::Addr, BINDINGS>>,
    /// Bindings known (0: the packet path skips the lock).
    bound: AtomicU32,
    /// The care-of address found on the interfaces when packets reach the home address
    /// through the home agent and none is configured (draft 2.3.4).
    #[pin]
    found_careof: SpinLockIrq<F::Addr>,
    /// Whether `found_careof` holds one (false: the packet path skips the lock).
    has_found: AtomicBool,
    counters: Counters,
    /// The family's configuration, which holds the home and care-of addresses (read by
    /// the packet path under RCU).
    family: Arc<FamilyState<F>>,
    hooks: Arc<LazyHooks<SitemhNet>>,
    net: NetRef,
}

impl<F: StackPath> Home<F> {
    pub(crate) fn new(
        net: &Net,
        family: Arc<FamilyState<F>>,
        hooks: Arc<LazyHooks<SitemhNet>>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                writers <- new_mutex!(()),
                correspondent: AtomicBool::new(false),
                bindings <- new_spinlock_irq!(BindingCache::default()),
                bound: AtomicU32::new(0),
                found_careof <- new_spinlock_irq!(F::Addr::default()),
                has_found: AtomicBool::new(false),
                counters: Counters::default(),
                family,
                hooks,
                net: NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    /// The home address and the care-of address in force: the configured one, else the
    /// one found on the interfaces.
    fn config(&self) -> HomeConfig<F::Addr> {
        let (home, configured) = {
            let guard = rcu::read_lock();
            let snapshot = self.family.snapshot(&guard);
            (snapshot.own_home.unwrap_or_default(), snapshot.careof)
        };
        let careof = match configured {
            Some(careof) => careof,
            None if self.has_found.load(Ordering::Acquire) => *self.found_careof.lock(),
            None => F::Addr::default(),
        };
        HomeConfig { home, careof }
    }

    /// `sitemh_home.careof_addr` (the unspecified address: none).
    fn configured_careof(&self) -> F::Addr {
        let guard = rcu::read_lock();
        self.family.snapshot(&guard).careof.unwrap_or_default()
    }

    fn set_found_careof(&self, careof: Option<F::Addr>) {
        let mut found = self.found_careof.lock();
        *found = careof.unwrap_or_default();
        self.has_found.store(careof.is_some(), Ordering::Release);
    }

    /// Registers the hooks while they may have work: with a care-of address, as a
    /// correspondent, or with bindings set by `SITEMH_SO_CAREOF`. Callers hold `writers`,
    /// so that two of them cannot leave the hooks as the older one saw the state.
    fn update_hooks(&self) -> Result {
        let on = self.configured_careof() != F::Addr::default()
            || self.correspondent.load(Ordering::Relaxed)
            || self.bound.load(Ordering::Relaxed) != 0;
        self.hooks.want(F::HOME_HOOKS_BIT, on)
    }

    /// `getsockopt(SITEMH_SO_CAREOF)`: the care-of address of this host's home address or
    /// of a bound peer's (unspecified: none).
    pub(crate) fn get_careof(&self, buf: UserSlice) -> Result<usize> {
        let len = 2 * F::Addr::LEN;
        let (mut reader, mut writer) = buf.reader_writer();
        if reader.len() < len {
            return Err(EINVAL);
        }
        let mut request = [0u8; 32];
        let request = &mut request[..len];
        reader.read_slice(request)?;
        let home = F::Addr::read(request);
        let config = self.config();
        let careof = if config.away() && home == config.home {
            config.careof
        } else {
            self.peer_careof(home).unwrap_or_default()
        };
        careof.write(&mut request[F::Addr::LEN..]);
        writer.write_slice(request)?;
        Ok(len)
    }

    /// `setsockopt(SITEMH_SO_CAREOF)`: binds a peer's home address to a care-of address
    /// (CAP_NET_ADMIN), or checks this host's own.
    pub(crate) fn set_careof(&self, value: &[u8]) -> Result {
        if value.len() < 2 * F::Addr::LEN {
            return Err(EINVAL);
        }
        let (home, careof) = (F::Addr::read(value), F::Addr::read(&value[F::Addr::LEN..]));
        let forget = careof == F::Addr::default();
        if !home.usable_as_home() || !(forget || careof.usable_as_home()) {
            return Err(EINVAL);
        }
        let config = self.config();
        if home == config.home {
            return if config.away() && careof == config.careof {
                Ok(())
            } else {
                Err(EINVAL)
            };
        }
        if !current_is_net_admin(self.net.get()) {
            return Err(EPERM);
        }
        let _writer = self.writers.lock();
        {
            let mut bindings = self.bindings.lock();
            if forget {
                bindings.forget(home);
            } else {
                bindings.learn(home, careof, now_ms());
            }
            self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        }
        self.update_hooks()
    }

    /// Stops the packet path's use of the state (the namespace goes).
    pub(crate) fn stop(&self) {
        self.bindings.lock().clear();
        self.bound.store(0, Ordering::Relaxed);
        self.set_found_careof(None);
    }

    fn peer_careof(&self, dst: F::Addr) -> Option<F::Addr> {
        if self.bound.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.bindings.lock().lookup(dst, now_ms())
    }

    /// A locally generated packet (LOCAL_OUT, before routing by source domain): from the
    /// home address or to a bound peer, it leaves stacked between care-of addresses.
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        let (src, dst) = F::addrs(packet);
        if !F::leaves_link(packet, src, dst) {
            return Verdict::Accept;
        }
        let config = self.config();
        let Some(out) = home::egress(&config, self.peer_careof(dst), src, dst) else {
            return Verdict::Accept;
        };
        match F::stack(packet, &out) {
            Ok(()) => {
                self.counters.stacked.fetch_add(1, Ordering::Relaxed);
                Verdict::Accept
            }
            Err(e) => Verdict::Drop(e),
        }
    }

    /// An arriving packet (PRE_ROUTING): if it is for this node and stacks home addresses,
    /// its socket sees them, and the sender's binding is remembered.
    pub(crate) fn ingress(&self, packet: &mut Packet<'_>) -> Verdict {
        let (src, dst) = F::addrs(packet);
        let found = match F::find(packet) {
            Ok(None) => return self.arrived_unstacked(packet, dst),
            Ok(Some(found)) => Ok(found),
            Err(e) => Err(e),
        };
        // Routers pass stacked packets on: only the addressee restores them.
        if !F::is_local(packet, dst) {
            return Verdict::Accept;
        }
        let found = match found {
            Ok(found) => found,
            Err(e) => return self.refuse(src, stacking_error(e)),
        };
        let restored = match home::ingress(&self.config(), &found.stacking, src, dst) {
            Ok(restored) => restored,
            Err(RestoreError::NotOurs) => {
                return self.refuse(src, "it stacks a home address that is not this node's")
            }
            Err(RestoreError::Impossible) => {
                return self.refuse(src, "it stacks this node's address or its own source")
            }
        };
        if let Err(e) = F::unstack(packet, &found, restored.src, restored.dst) {
            return Verdict::Drop(e);
        }
        if let Some((peer_home, peer_careof)) = restored.binding {
            let mut bindings = self.bindings.lock();
            bindings.learn(peer_home, peer_careof, now_ms());
            self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        }
        self.counters.restored.fetch_add(1, Ordering::Relaxed);
        Verdict::Accept
    }

    /// Draft 2.3.4: a packet for the home address without stacked addresses, while the
    /// home address is outside the domains, came through the home agent's tunnel (IP in
    /// IP, decapsulated by the stack before it passes here again). With no care-of
    /// address configured, the node finds its co-located care-of address: the local end
    /// of the tunnel it arrived by if that is one of its provider addresses, else the
    /// first such address on its interfaces. What it sends from the home address (the
    /// SYN-ACK first) then leaves stacked from there, and the peer learns where to reach
    /// it directly. A SYN that came this way advertises an MSS lowered as stacking
    /// needs, since the answers leave stacked. Back at home (the home address inside a
    /// domain), a found care-of address is forgotten.
    fn arrived_unstacked(&self, packet: &mut Packet<'_>, dst: F::Addr) -> Verdict {
        let away = {
            // Held throughout: nothing in here sleeps, and the table says what is routed.
            let guard = rcu::read_lock();
            let snapshot = self.family.snapshot(&guard);
            let Some(home) = snapshot.own_home.filter(|&home| home == dst) else {
                return Verdict::Accept;
            };
            if snapshot.table.domain_of(home).is_some() {
                if self.has_found.load(Ordering::Acquire) {
                    self.set_found_careof(None);
                }
                return Verdict::Accept;
            }
            self.counters.tunnelled.fetch_add(1, Ordering::Relaxed);
            snapshot.careof.is_some() || self.find_careof(packet, snapshot, home)
        };
        if away {
            if let Err(e) = F::lower_mss(packet) {
                return Verdict::Drop(e);
            }
        }
        Verdict::Accept
    }

    /// Finds the care-of address for packets reaching `home` through the home agent (see
    /// [`Self::arrived_unstacked`]), unless the one found before is still this node's;
    /// returns whether there is one.
    fn find_careof(
        &self,
        packet: &Packet<'_>,
        snapshot: &crate::domains::Snapshot<F>,
        home: F::Addr,
    ) -> bool {
        if self.has_found.load(Ordering::Acquire) {
            let found = *self.found_careof.lock();
            if F::is_local(packet, found) {
                return true;
            }
        }
        let tunnel = packet.tunnel_local();
        let local = LocalAddrsNow::<LOCAL_ADDRS_SEEN>::read(self.net.get(), F::AF);
        let careof = home::careof_from_interfaces(
            home,
            Iterator::chain(tunnel.iter(), local.addrs()).map(|glue| F::Addr::read(glue)),
            |addr| {
                snapshot
                    .table
                    .domain_of(addr)
                    .is_some_and(|domain| domain.router.is_some())
            },
        );
        self.set_found_careof(careof);
        if net_ratelimit() {
            let mut buf = [[0u8; 48]; 2];
            let [home_buf, careof_buf] = &mut buf;
            let (mut shown_home, mut shown_careof) =
                (FixedBuf::new(home_buf), FixedBuf::new(careof_buf));
            let _ = F::write_addr(&mut shown_home, home);
            let home_text = core::str::from_utf8(shown_home.as_bytes()).unwrap_or("?");
            match careof {
                Some(careof) => {
                    let _ = F::write_addr(&mut shown_careof, careof);
                    pr_info!(
                        "home: {} is reached through its home agent; care-of address {} found on the interfaces\n",
                        home_text,
                        core::str::from_utf8(shown_careof.as_bytes()).unwrap_or("?")
                    );
                }
                None => pr_warn!(
                    "home: {} is reached through its home agent, but no interface has an address of a domain with a router: replies leave unstacked\n",
                    home_text
                ),
            }
        }
        careof.is_some()
    }

    fn refuse(&self, src: F::Addr, why: &str) -> Verdict {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            let mut buf = [0u8; 48];
            let mut shown = FixedBuf::new(&mut buf);
            let _ = F::write_addr(&mut shown, src);
            pr_warn!(
                "home: dropping a stacked packet from {}: {}\n",
                core::str::from_utf8(shown.as_bytes()).unwrap_or("?"),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }

    /// The family's line of `/proc/net/sitemh`.
    pub(crate) fn show(&self, m: &SeqFile) {
        let config = self.config();
        let mut buf = [[0u8; 48]; 2];
        let [home_buf, careof_buf] = &mut buf;
        let mut home = FixedBuf::new(home_buf);
        let mut careof = FixedBuf::new(careof_buf);
        let _ = F::write_addr(&mut home, config.home);
        let _ = F::write_addr(&mut careof, config.careof);
        seq_print!(
            m,
            "{} addr {} careof {} stacked {} restored {} refused {} tunnelled {} bindings {}\n",
            F::PROC,
            core::str::from_utf8(home.as_bytes()).unwrap_or("?"),
            core::str::from_utf8(careof.as_bytes()).unwrap_or("?"),
            self.counters.stacked.load(Ordering::Relaxed),
            self.counters.restored.load(Ordering::Relaxed),
            self.counters.refused.load(Ordering::Relaxed),
            self.counters.tunnelled.load(Ordering::Relaxed),
            self.bound.load(Ordering::Relaxed)
        );
    }
}

fn stacking_error(e: StackingError) -> &'static str {
    match e {
        StackingError::Truncated => "truncated option",
        StackingError::UnknownType(_) => "unknown stacking type",
        StackingError::WrongLength => "wrong option length",
        StackingError::NotStacking => "not a stacking header",
        StackingError::Duplicate => "two stacking options",
        StackingError::BadAddress => "an address no node can have as its home",
    }
}

/// The knobs of `net.ipv{4,6}.sitemh_home.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HomeField {
    CareofAddr,
    Correspondent,
}

/// One knob of the home-address state.
pub(crate) struct HomeKnob<F: StackPath> {
    state: Arc<Home<F>>,
    field: HomeField,
}

impl<F: StackPath> HomeKnob<F> {
    /// Registers `net.ipv{4,6}.sitemh_home.{careof_addr,correspondent}`.
    pub(crate) fn register(net: &Net, state: &Arc<Home<F>>) -> Result<NetSysctlText<Self>> {
        let mut knobs = KVec::with_capacity(2, GFP_KERNEL)?;
        for (name, field) in [
            (c"careof_addr", HomeField::CareofAddr),
            (c"correspondent", HomeField::Correspondent),
        ] {
            let knob = HomeKnob {
                state: state.clone(),
                field,
            };
            knobs.push((name, knob), GFP_KERNEL)?;
        }
        NetSysctlText::register(net, F::GROUP, knobs)
    }

    fn refuse(&self, text: &[u8], what: &str) -> Result {
        if net_ratelimit() {
            pr_warn!(
                "{}: refusing {:?}: {}\n",
                F::GROUP_NAME,
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                what
            );
        }
        Err(EINVAL)
    }
}

impl<F: StackPath> TextKnob for HomeKnob<F> {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let shown = match self.field {
            HomeField::Correspondent => write!(
                out,
                "{}",
                u8::from(self.state.correspondent.load(Ordering::Relaxed))
            ),
            HomeField::CareofAddr => F::write_addr(out, self.state.configured_careof()),
        };
        shown.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        let _writer = self.state.writers.lock();
        match self.field {
            HomeField::Correspondent => {
                let on = match parse_decimal(text) {
                    Some(0) => false,
                    Some(1) => true,
                    _ => return self.refuse(text, "not 0 or 1"),
                };
                let was = self.state.correspondent.swap(on, Ordering::Relaxed);
                if let Err(e) = self.state.update_hooks() {
                    self.state.correspondent.store(was, Ordering::Relaxed);
                    return Err(e);
                }
            }
            HomeField::CareofAddr => {
                let Ok(addr) = F::parse_addr(text) else {
                    return self.refuse(text, "not an address of this family");
                };
                if addr != F::Addr::default() && !addr.usable_as_home() {
                    return self.refuse(text, "not a unicast address");
                }
                let was = self.state.configured_careof();
                let careof = (addr != F::Addr::default()).then_some(addr);
                self.state.family.set_careof(careof)?;
                // A configured address prevails; without one, the next tunnelled packet
                // looks on the interfaces again.
                self.state.set_found_careof(None);
                if let Err(e) = self.state.update_hooks() {
                    let was = (was != F::Addr::default()).then_some(was);
                    // Best effort: the old address was valid when it was set.
                    let _ = self.state.family.set_careof(was);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}
