// SPDX-License-Identifier: GPL-2.0

//! Home addresses and IP address stacking on the packet path (draft 2.2, 2.2.1, 2.3,
//! 2.3.4), IPv4 and IPv6.
//!
//! Configured per namespace and family (`net.ipv4.` shown; `net.ipv6.` the same):
//! - `net.ipv4.sitemh_home.binding_key`: the key (64 hexadecimal digits) the site's nodes
//!   share to authenticate binding updates (`logic/binding_update.rs`). Written by
//!   CAP_NET_ADMIN only; reading it shows `set` or nothing, never the key.
//! - `net.ipv4.ip_home_addr` (with the selection's `ip_use_homeaddr`, see `domains.rs`): the
//!   node's home (or provider-independent) address, which its sockets use.
//! - `net.ipv4.sitemh_home.careof_addr`: its co-located care-of address, one of the
//!   addresses of the site it is in (draft 2.2: "bound to one of the IP addresses supported
//!   by the service providers"); `0.0.0.0` (the default) or the home address itself: at
//!   home, or found when packets come through the home agent (below).
//! - `net.ipv4.sitemh_home.correspondent`: 1 to take authenticated binding updates from
//!   peers away from home, and so restore and answer their stacked packets.
//!
//! `ip_use_homeaddr` changes only what `getsrcaddr` and `gethostbynamewithsrcaddr` offer,
//! so what new connections choose: the packets of a socket bound to the home address are
//! stacked whatever it says, and connections keep working when it is toggled.
//!
//! Away from home, a packet from the home address leaves with the care-of address as its
//! source and the home address stacked (type 1); one to a peer whose binding is known goes
//! to that peer's care-of address with the peer's home address stacked (type 0; both: type
//! 2). Arriving stacked packets for this node get their home addresses back before any
//! socket sees them (PRE_ROUTING). A stacked sender's home address is believed only from
//! the care-of address an authenticated binding update (or the administrator, through
//! `SITEMH_SO_CAREOF`) bound it to: a packet never teaches a binding, so nobody can
//! redirect this node's traffic for an address, or pose as one, by sending a packet. The
//! node away sends the update itself (with the binding key configured) before its first
//! stacked packet to a correspondent, and every `REFRESH_MS` while it keeps sending;
//! learned bindings lapse after their lifetime. A TCP SYN that
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
        FamilyState, //
    },
    family::{
        Family,
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
            Packet,
            Verdict, //
        },
        sysctl::{
            NetSysctlText,
            TextKnob, //
        },
        work::now_ms,
    },
    hook_user::{
        self,
        Hooks, //
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
        sockopt::{
            parse_careof,
            write_careof, //
        },
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
};

use crate::{
    ffi::{
        inet, secret,
        work::{
            real_ns,
            OwnedTicker,
            Tick, //
        },
    },
    logic::{
        binding_update::{
            parse_error,
            parse_key,
            parse_update,
            write_error,
            write_update,
            BindingUpdate,
            ErrorQueue,
            UpdateError,
            UpdateSchedule,
            CODE_BINDING_ERROR,
            CODE_BINDING_UPDATE,
            KEY_LEN,
            LIFETIME_S,
            UPDATE_MAX, //
        },
        linkfail::{
            finish_checksum,
            icmpv6_checksum,
            internet_checksum, //
        },
    },
};

/// Peers whose bindings are remembered, per family.
const BINDINGS: usize = 64;
/// Correspondents this node sends binding updates to, per family.
const CORRESPONDENTS: usize = 16;
/// IPPROTO_ICMP, IPPROTO_ICMPV6.
const IPPROTO_ICMP: u8 = 1;
const IPPROTO_ICMPV6: u8 = 58;
/// Local addresses looked through for a care-of address, at most.
const LOCAL_ADDRS_SEEN: usize = 16;

/// The IPv4 option layout (module parameter `stacking_layout`).
fn layout() -> Ipv4Layout {
    if crate::params::stacking_layout() == 1 {
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
    /// If the packet is an ICMP message of the module's type with a binding update's or
    /// a binding error's code: its octets into `out` (at most its length), and the
    /// message's length; whether its checksum verified.
    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)>;
    /// Sends a binding update (checksum still zero) from `src` to `dst`.
    fn send_update(net: &Net, src: Self::Addr, dst: Self::Addr, message: &mut [u8]) -> Result;
}

impl StackPath for V4 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V4;
    const GROUP: &'static CStr = c"net/ipv4/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv4.sitemh_home";
    const PROC: &'static str = "home";
    const ROOM: u16 = 12;

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

    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)> {
        let transport = packet.ipv4_transport(IPPROTO_ICMP, out)?;
        if transport.proto != IPPROTO_ICMP
            || out.first() != Some(&crate::params::icmp_type())
            || !matches!(
                out.get(1),
                Some(&(CODE_BINDING_UPDATE | CODE_BINDING_ERROR))
            )
        {
            return None;
        }
        let checked = out
            .get(..transport.len)
            .is_some_and(|message| internet_checksum(message) == 0);
        Some((transport.len, checked))
    }

    fn send_update(net: &Net, src: u32, dst: u32, message: &mut [u8]) -> Result {
        finish_checksum(message);
        inet::send_icmp4(net, src, dst, 0, message)
    }
}

impl StackPath for V6 {
    const HOME_HOOKS_BIT: u32 = hook_user::HOME_V6;
    const GROUP: &'static CStr = c"net/ipv6/sitemh_home";
    const GROUP_NAME: &'static str = "net.ipv6.sitemh_home";
    const PROC: &'static str = "home6";
    const ROOM: u16 = 40;

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

    fn binding_message(packet: &Packet<'_>, out: &mut [u8]) -> Option<(usize, bool)> {
        let transport = packet.ipv6_transport(IPPROTO_ICMPV6, out)?;
        if transport.proto != IPPROTO_ICMPV6
            || out.first() != Some(&crate::params::icmp6_type())
            || !matches!(
                out.get(1),
                Some(&(CODE_BINDING_UPDATE | CODE_BINDING_ERROR))
            )
        {
            return None;
        }
        let (src, dst) = packet.ipv6_addrs();
        let checked = out
            .get(..transport.len)
            .is_some_and(|message| icmpv6_checksum(src, dst, message) == 0);
        Some((transport.len, checked))
    }

    fn send_update(net: &Net, src: u128, dst: u128, message: &mut [u8]) -> Result {
        // The raw ICMPv6 socket computes the checksum over the pseudo-header.
        inet::send_icmp6(net, Some(src), dst, 0, 0, message)
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
    /// Binding updates sent.
    updates_sent: AtomicU64,
    /// Binding updates taken (a binding learned or refreshed).
    updates_taken: AtomicU64,
    /// Binding updates refused: not a correspondent, no key, forged, stale, replayed.
    updates_refused: AtomicU64,
    /// Binding errors sent (stacked packets refused for want of a binding) and heard.
    errors_sent: AtomicU64,
    errors_heard: AtomicU64,
}

/// The binding key, wiped when replaced and when the state goes.
struct BindingKey(Option<[u8; KEY_LEN]>);

impl BindingKey {
    fn replace(&mut self, key: Option<[u8; KEY_LEN]>) {
        wipe(&mut self.0);
        self.0 = key;
    }
}

impl Drop for BindingKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites key material with zeros in a way the compiler keeps.
fn wipe(key: &mut Option<[u8; KEY_LEN]>) {
    if let Some(octets) = key.as_mut() {
        secret::wipe(octets);
    }
    *key = None;
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
    /// `sitemh_home.binding_key`.
    #[pin]
    key: SpinLockIrq<BindingKey>,
    /// Whether `key` holds one (false: updates are neither sent nor taken).
    has_key: AtomicBool,
    /// The correspondents this node sends binding updates to.
    #[pin]
    updates: SpinLockIrq<UpdateSchedule<F::Addr, CORRESPONDENTS>>,
    /// Where binding errors are due.
    #[pin]
    errors: SpinLockIrq<ErrorQueue<F::Addr, CORRESPONDENTS>>,
    /// Sends the updates and errors that are due (process context).
    ticker: OwnedTicker<Self>,
    counters: Counters,
    /// The family's configuration, which holds the home and care-of addresses (read by
    /// the packet path under RCU).
    family: Arc<FamilyState<F>>,
    hooks: Hooks,
    net: NetRef,
}

impl<F: StackPath> Home<F> {
    pub(crate) fn new(net: &Net, family: Arc<FamilyState<F>>, hooks: Hooks) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                writers <- new_mutex!(()),
                correspondent: AtomicBool::new(false),
                bindings <- new_spinlock_irq!(BindingCache::default()),
                bound: AtomicU32::new(0),
                found_careof <- new_spinlock_irq!(F::Addr::default()),
                has_found: AtomicBool::new(false),
                key <- new_spinlock_irq!(BindingKey(None)),
                has_key: AtomicBool::new(false),
                updates <- new_spinlock_irq!(UpdateSchedule::default()),
                errors <- new_spinlock_irq!(ErrorQueue::default()),
                ticker: OwnedTicker::new(),
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
        // Where a peer is reached is the namespace's business, not any user's: only a
        // network administrator learns it (others see none).
        let careof = if config.away() && home == config.home {
            config.careof
        } else if current_is_net_admin(self.net.get()) {
            self.peer_careof(home).unwrap_or_default()
        } else {
            F::Addr::default()
        };
        let written = write_careof(home, careof, request).map_err(|_| EINVAL)?;
        writer.write_slice(&request[..written])?;
        Ok(written)
    }

    /// `setsockopt(SITEMH_SO_CAREOF)`: binds a peer's home address to a care-of address
    /// (CAP_NET_ADMIN), or checks this host's own.
    pub(crate) fn set_careof(&self, value: &[u8]) -> Result {
        let (home, careof) = parse_careof::<F::Addr>(value).map_err(|_| EINVAL)?;
        let forget = careof == F::Addr::default();
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

    /// Starts sending binding updates (the state is in its final place).
    pub(crate) fn start(self: &Arc<Self>) -> Result {
        self.ticker.start(self)
    }

    /// Stops the packet path's use of the state (the namespace goes).
    pub(crate) fn stop(&self) {
        self.ticker.stop();
        self.bindings.lock().clear();
        self.bound.store(0, Ordering::Relaxed);
        self.set_found_careof(None);
        self.has_key.store(false, Ordering::Release);
        self.key.lock().replace(None);
        self.updates.lock().clear();
    }

    /// Whether the home-address path has anything to do in this namespace: a home
    /// address, a care-of address, the correspondent role or a binding. Without, arriving
    /// stacked packets are not this module's business (they reach the hooks only because
    /// another feature registered them) and pass untouched.
    fn in_use(&self) -> bool {
        if self.correspondent.load(Ordering::Relaxed)
            || self.bound.load(Ordering::Relaxed) != 0
            || self.has_found.load(Ordering::Relaxed)
        {
            return true;
        }
        let guard = rcu::read_lock();
        let snapshot = self.family.snapshot(&guard);
        snapshot.own_home.is_some() || snapshot.careof.is_some()
    }

    fn peer_careof(&self, dst: F::Addr) -> Option<F::Addr> {
        if self.bound.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.bindings.lock().lookup(dst, now_ms())
    }

    /// Whether `home` is bound to `careof`, by an authenticated update or by the
    /// administrator, and the binding has not lapsed.
    fn is_bound(&self, home: F::Addr, careof: F::Addr) -> bool {
        self.bound.load(Ordering::Relaxed) != 0
            && self.bindings.lock().is_bound(home, careof, now_ms())
    }

    /// A stacked packet from this node's home address leaves for `correspondent`: makes
    /// sure the correspondent hears an authenticated binding update (before the packet
    /// when none was sent yet: the ticker runs at once, and the packet may need to be sent
    /// again, as the first packet of any new path may).
    fn note_correspondent(&self, correspondent: F::Addr) {
        if !self.has_key.load(Ordering::Acquire) {
            return;
        }
        if self.updates.lock().note(correspondent, now_ms()) {
            self.ticker.arm(0);
        }
    }

    /// An arriving binding update or error (LOCAL_IN), or `None` if the packet is none.
    pub(crate) fn receive_update(&self, packet: &Packet<'_>) -> Option<Verdict> {
        let mut message = [0u8; UPDATE_MAX];
        let (len, checked) = F::binding_message(packet, &mut message)?;
        let (src, dst) = F::addrs(packet);
        if message[1] == CODE_BINDING_ERROR {
            self.heard_error(message.get(..len).filter(|_| checked), src, dst);
            return Some(Verdict::Drop(EINVAL));
        }
        let why = match self.take_update(packet, &message, len, checked, src, dst) {
            Ok(()) => {
                self.counters.updates_taken.fetch_add(1, Ordering::Relaxed);
                return Some(Verdict::Drop(EINVAL));
            }
            Err(why) => why,
        };
        self.counters
            .updates_refused
            .fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            let mut buf = [0u8; 48];
            let mut shown = FixedBuf::new(&mut buf);
            let _ = F::write_addr(&mut shown, src);
            pr_warn!(
                "home: refusing a binding update from {}: {}\n",
                core::str::from_utf8(shown.as_bytes()).unwrap_or("?"),
                why
            );
        }
        // Ours either way: no other part of the stack knows the type.
        Some(Verdict::Drop(EINVAL))
    }

    /// A correspondent refused a stacked packet of ours for want of a binding: the next
    /// update to it goes out now (at most once a second), unless the error is not for our
    /// home address at our care-of address.
    fn heard_error(&self, message: Option<&[u8]>, src: F::Addr, dst: F::Addr) {
        let Some(home) = message.and_then(|m| parse_error::<F::Addr>(F::icmp_type(), m)) else {
            return;
        };
        let config = self.config();
        if !config.away() || home != config.home || dst != config.careof {
            return;
        }
        self.counters.errors_heard.fetch_add(1, Ordering::Relaxed);
        if self.has_key.load(Ordering::Acquire) && self.updates.lock().hint(src, now_ms()) {
            self.ticker.arm(0);
        }
    }

    fn take_update(
        &self,
        packet: &Packet<'_>,
        message: &[u8],
        len: usize,
        checked: bool,
        src: F::Addr,
        dst: F::Addr,
    ) -> core::result::Result<(), &'static str> {
        if !self.correspondent.load(Ordering::Relaxed) {
            return Err("this node is no correspondent (sitemh_home.correspondent=0)");
        }
        let message = message.get(..len).ok_or("longer than a binding update")?;
        if !checked {
            return Err("bad checksum");
        }
        let update = {
            let key = self.key.lock();
            let Some(key) = key.0.as_ref() else {
                return Err("no binding key configured");
            };
            parse_update(
                key,
                F::icmp_type(),
                message,
                src,
                dst,
                real_ns() / 1_000_000,
            )
        };
        let update = update.map_err(|e| match e {
            UpdateError::Length => "wrong length",
            UpdateError::NotAnUpdate => "not a binding update",
            UpdateError::WrongSource => "not sent from the care-of address it names",
            UpdateError::BadAddress => "an address no node can have as its home",
            UpdateError::BadTag => "it does not verify under the binding key",
            UpdateError::Stale => "its timestamp is too far from this node's clock",
        })?;
        // This node's own addresses are nobody else's home.
        if F::is_local(packet, update.home) {
            return Err("it names an address of this node as its home");
        }
        let mut bindings = self.bindings.lock();
        bindings
            .learn_authenticated(
                update.home,
                update.careof,
                now_ms(),
                update.timestamp_ms,
                u64::from(update.lifetime_s) * 1000,
            )
            .map_err(|_| "a replay: no newer than the last update taken")?;
        self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        Ok(())
    }

    /// A locally generated packet (LOCAL_OUT, before routing by source domain): from the
    /// home address or to a bound peer, it leaves stacked between care-of addresses.
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        let (src, dst) = F::addrs(packet);
        if !F::leaves_link(packet, src, dst) {
            return Verdict::Accept;
        }
        if !self.in_use() {
            return Verdict::Accept;
        }
        let config = self.config();
        let Some(out) = home::egress(&config, self.peer_careof(dst), src, dst) else {
            return Verdict::Accept;
        };
        if out.stacking.sender_home().is_some() {
            self.note_correspondent(out.dst);
        }
        match F::stack(packet, &out) {
            Ok(()) => {
                self.counters.stacked.fetch_add(1, Ordering::Relaxed);
                Verdict::Accept
            }
            Err(e) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                if net_ratelimit() {
                    pr_warn!(
                        "home: a packet from the home address could not be stacked (error {}; IPv4 options of its own are not stacked): dropped\n",
                        e.to_errno()
                    );
                }
                Verdict::Drop(e)
            }
        }
    }

    /// An arriving packet (PRE_ROUTING): if it is for this node and stacks home addresses,
    /// its socket sees them, and the sender's binding is remembered.
    pub(crate) fn ingress(&self, packet: &mut Packet<'_>) -> Verdict {
        if !self.in_use() {
            return Verdict::Accept;
        }
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
        let bound = |home, careof| self.is_bound(home, careof) && !F::is_local(packet, home);
        let restored = match home::ingress(&self.config(), &found.stacking, src, dst, bound) {
            Ok(restored) => restored,
            Err(RestoreError::NotOurs) => {
                return self.refuse(src, "it stacks a home address that is not this node's")
            }
            Err(RestoreError::Impossible) => {
                return self.refuse(src, "it stacks this node's address or its own source")
            }
            Err(RestoreError::Unbound) => {
                if let Some(home) = found.stacking.sender_home() {
                    if self.errors.lock().push(src, dst, home, now_ms()) {
                        self.ticker.arm(0);
                    }
                }
                return self.refuse(
                    src,
                    "no authenticated binding of its sender's home address to its source",
                );
            }
        };
        if let Err(e) = F::unstack(packet, &found, restored.src, restored.dst) {
            return Verdict::Drop(e);
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
            "{} addr {} careof {} stacked {} restored {} refused {} tunnelled {} bindings {} updates_sent {} updates_taken {} updates_refused {} errors_sent {} errors_heard {}\n",
            F::PROC,
            core::str::from_utf8(home.as_bytes()).unwrap_or("?"),
            core::str::from_utf8(careof.as_bytes()).unwrap_or("?"),
            self.counters.stacked.load(Ordering::Relaxed),
            self.counters.restored.load(Ordering::Relaxed),
            self.counters.refused.load(Ordering::Relaxed),
            self.counters.tunnelled.load(Ordering::Relaxed),
            self.bound.load(Ordering::Relaxed),
            self.counters.updates_sent.load(Ordering::Relaxed),
            self.counters.updates_taken.load(Ordering::Relaxed),
            self.counters.updates_refused.load(Ordering::Relaxed),
            self.counters.errors_sent.load(Ordering::Relaxed),
            self.counters.errors_heard.load(Ordering::Relaxed)
        );
    }
}

impl<F: StackPath> Home<F> {
    /// Sends the binding errors that are due.
    fn send_errors(&self) {
        let mut due =
            [(F::Addr::default(), F::Addr::default(), F::Addr::default()); CORRESPONDENTS];
        let n = self.errors.lock().take_due(now_ms(), &mut due);
        for &(to, from, home) in due.iter().take(n) {
            let mut message = [0u8; UPDATE_MAX];
            let Some(len) = write_error(F::icmp_type(), home, &mut message) else {
                continue;
            };
            let sent = message
                .get_mut(..len)
                .ok_or(EINVAL)
                .and_then(|m| F::send_update(self.net.get(), from, to, m));
            if sent.is_ok() {
                self.counters.errors_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl<F: StackPath> Tick for Home<F> {
    /// Sends the binding updates that are due, from the care-of address, each stamped
    /// with the wall clock and authenticated for its correspondent.
    fn tick(&self) {
        self.send_errors();
        let config = self.config();
        if !config.away() {
            self.updates.lock().clear();
            return;
        }
        let mut due = [F::Addr::default(); CORRESPONDENTS];
        let n = self.updates.lock().take_due(now_ms(), &mut due);
        if n == 0 {
            return;
        }
        let mut key = self.key.lock().0;
        let Some(octets) = key.as_ref() else {
            return;
        };
        let update = BindingUpdate {
            home: config.home,
            careof: config.careof,
            timestamp_ms: real_ns() / 1_000_000,
            lifetime_s: LIFETIME_S,
        };
        for &correspondent in due.iter().take(n) {
            let mut message = [0u8; UPDATE_MAX];
            let Some(len) =
                write_update(octets, F::icmp_type(), &update, correspondent, &mut message)
            else {
                continue;
            };
            let sent = message
                .get_mut(..len)
                .ok_or(EINVAL)
                .and_then(|m| F::send_update(self.net.get(), config.careof, correspondent, m));
            match sent {
                Ok(()) => {
                    self.counters.updates_sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if net_ratelimit() => {
                    pr_warn!(
                        "home: a binding update could not be sent: error {}\n",
                        e.to_errno()
                    );
                }
                Err(_) => {}
            }
        }
        wipe(&mut key);
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
    BindingKey,
}

/// One knob of the home-address state.
pub(crate) struct HomeKnob<F: StackPath> {
    state: Arc<Home<F>>,
    field: HomeField,
}

impl<F: StackPath> HomeKnob<F> {
    /// Registers `net.ipv{4,6}.sitemh_home.{careof_addr,correspondent}`.
    pub(crate) fn register(net: &Net, state: &Arc<Home<F>>) -> Result<NetSysctlText<Self>> {
        let mut knobs = KVec::with_capacity(3, GFP_KERNEL)?;
        for (name, field) in [
            (c"careof_addr", HomeField::CareofAddr),
            (c"correspondent", HomeField::Correspondent),
            (c"binding_key", HomeField::BindingKey),
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
            // Never the key itself.
            HomeField::BindingKey if self.state.has_key.load(Ordering::Acquire) => {
                write!(out, "set")
            }
            HomeField::BindingKey => Ok(()),
        };
        shown.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        let _writer = self.state.writers.lock();
        match self.field {
            HomeField::BindingKey => {
                let Ok(key) = parse_key(text) else {
                    return self.refuse(b"(not shown)", "not 64 hexadecimal digits, or empty");
                };
                self.state.has_key.store(key.is_some(), Ordering::Release);
                self.state.key.lock().replace(key);
                // Correspondents hear the next update under the new key at once.
                self.state.updates.lock().clear();
            }
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
