// SPDX-License-Identifier: GPL-2.0

//! Home addresses and IP address stacking on the packet path (draft 2.2, 2.2.1, 2.3,
//! 2.3.4), IPv4 and IPv6.
//!
//! Configured per namespace and family (`net.ipv4.` shown; `net.ipv6.` the same):
//! - `net.ipv4.sitemh_home.binding_key`: the key (64 hexadecimal digits) the site's nodes
//!   share to authenticate binding updates (`logic/binding_update.rs`). Written by
//!   CAP_NET_ADMIN only; reading it shows `set` or nothing, never the key.
//! - `net.ipv4.ip_home_addr` (with the selection's `ip_use_homeaddr`, see `domains/`): the
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

#![forbid(unsafe_code)]

mod binding;
mod family;
mod path;
mod sysctl;

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicBool,
        AtomicU32,
        AtomicU64,
        Ordering, //
    },
};
pub(crate) use family::StackPath;
pub(crate) use sysctl::HomeKnob;

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
        uapi::{
            self,
            UapiAddr, //
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
        sockopt::check_careof,
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
