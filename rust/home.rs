// SPDX-License-Identifier: GPL-2.0

//! Home addresses and IP address stacking on the IPv4 packet path (draft 2.2, 2.2.1,
//! 2.3, 2.3.4).
//!
//! Configured per namespace:
//! - `net.ipv4.ip_home_addr` (with the selection's `ip_use_homeaddr`, see `domains.rs`): the
//!   node's home (or provider-independent) address, which its sockets use.
//! - `net.ipv4.sitemh_home.careof_addr`: its co-located care-of address, one of the
//!   addresses of the site it is in (draft 2.2: "bound to one of the IP addresses supported
//!   by the service providers"); `0.0.0.0` (the default) or the home address itself: at home.
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
//! leaves stacked advertises an MSS 12 octets lower, so that the peer's segments still fit
//! the path with the option added.

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
        FamilyState,
        V4, //
    },
    ffi::{
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
            RestoreError, //
        },
        ipv4,
        stacking::{
            find_ipv4_option,
            write_ipv4_option,
            HomeAddr,
            Ipv4Layout,
            StackingError, //
        },
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
    netns::SitemhNet,
};

/// Bit of [`LazyHooks`] users: a care-of address, or the correspondent role.
pub(crate) const HOOKS_BIT: u32 = 3;
/// Peers whose bindings are remembered.
const BINDINGS: usize = 64;
/// What a stacking option adds to a header at most: a SYN advertises this much less.
const OPTION_ROOM: u16 = 12;

/// `struct sitemh_careof`: home address, care-of address.
const CAREOF_LEN: usize = 8;
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

#[derive(Default)]
struct Counters {
    /// Packets sent stacked.
    stacked: AtomicU64,
    /// Stacked packets given their home addresses back.
    restored: AtomicU64,
    /// Stacked packets dropped: malformed, or not for this node's addresses.
    refused: AtomicU64,
}

/// The home-address state of one namespace.
#[pin_data]
pub(crate) struct Home {
    /// The care-of address (0: none).
    careof: AtomicU32,
    /// Serialises the knobs' writes, so that two of them cannot undo each other.
    #[pin]
    writers: Mutex<()>,
    correspondent: AtomicBool,
    #[pin]
    bindings: SpinLockIrq<BindingCache<BINDINGS>>,
    /// Bindings known (0: the packet path skips the lock).
    bound: AtomicU32,
    counters: Counters,
    /// The IPv4 domains' configuration, which holds the home address.
    v4: Arc<FamilyState<V4>>,
    hooks: Arc<LazyHooks<SitemhNet>>,
    net: NetRef,
}

impl Home {
    pub(crate) fn new(
        net: &Net,
        v4: Arc<FamilyState<V4>>,
        hooks: Arc<LazyHooks<SitemhNet>>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                careof: AtomicU32::new(0),
                writers <- new_mutex!(()),
                correspondent: AtomicBool::new(false),
                bindings <- new_spinlock_irq!(BindingCache::default()),
                bound: AtomicU32::new(0),
                counters: Counters::default(),
                v4,
                hooks,
                net: NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    fn config(&self) -> HomeConfig {
        let guard = rcu::read_lock();
        HomeConfig {
            home: self.v4.snapshot(&guard).own_home.unwrap_or(0),
            careof: self.careof.load(Ordering::Relaxed),
        }
    }

    /// Registers the hooks while they may have work: with a care-of address, as a
    /// correspondent, or with bindings set by `SITEMH_SO_CAREOF`. Callers hold `writers`,
    /// so that two of them cannot leave the hooks as the older one saw the state.
    fn update_hooks(&self) -> Result {
        let on = self.careof.load(Ordering::Relaxed) != 0
            || self.correspondent.load(Ordering::Relaxed)
            || self.bound.load(Ordering::Relaxed) != 0;
        self.hooks.want(HOOKS_BIT, on)
    }

    /// `getsockopt(SITEMH_SO_CAREOF)`: the care-of address of this host's home address or
    /// of a bound peer's (0.0.0.0: none).
    pub(crate) fn get_careof(&self, buf: UserSlice) -> Result<usize> {
        let (mut reader, mut writer) = buf.reader_writer();
        if reader.len() < CAREOF_LEN {
            return Err(EINVAL);
        }
        let mut request = [0u8; CAREOF_LEN];
        reader.read_slice(&mut request)?;
        let home = u32::read(&request);
        let config = self.config();
        let careof = if config.away() && home == config.home {
            config.careof
        } else {
            self.peer_careof(home).unwrap_or(0)
        };
        careof.write(&mut request[4..]);
        writer.write_slice(&request)?;
        Ok(CAREOF_LEN)
    }

    /// `setsockopt(SITEMH_SO_CAREOF)`: binds a peer's home address to a care-of address
    /// (CAP_NET_ADMIN), or checks this host's own.
    pub(crate) fn set_careof(&self, value: &[u8]) -> Result {
        if value.len() < CAREOF_LEN {
            return Err(EINVAL);
        }
        let (home, careof) = (u32::read(value), u32::read(&value[4..]));
        if !home.usable_as_home() || !careof.usable_as_home() {
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
            bindings.learn(home, careof, now_ms());
            self.bound.store(bindings.len() as u32, Ordering::Relaxed);
        }
        self.update_hooks()
    }

    /// Stops the packet path's use of the state (the namespace goes).
    pub(crate) fn stop(&self) {
        self.bindings.lock().clear();
        self.bound.store(0, Ordering::Relaxed);
    }

    fn peer_careof(&self, dst: u32) -> Option<u32> {
        if self.bound.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.bindings.lock().lookup(dst, now_ms())
    }

    /// A locally generated packet (LOCAL_OUT, before routing by source domain): from the
    /// home address or to a bound peer, it leaves stacked between care-of addresses.
    pub(crate) fn egress(&self, packet: &mut Packet<'_>) -> Verdict {
        // Local, broadcast and multicast traffic stays as it is.
        if !packet.ipv4_route_is_unicast() {
            return Verdict::Accept;
        }
        let (src, dst) = packet.ipv4_addrs();
        let config = self.config();
        let Some(out) = home::egress(&config, self.peer_careof(dst), src, dst) else {
            return Verdict::Accept;
        };
        let mut option = [0u8; 12];
        let Ok(len) = write_ipv4_option(&out.stacking, layout(), &mut option) else {
            return Verdict::Drop(EINVAL);
        };
        let sent = packet
            .lower_tcp_mss4(OPTION_ROOM)
            .and_then(|()| packet.push_ipv4_option(&option[..len]))
            .and_then(|()| packet.translate4(out.src, out.dst, true));
        match sent {
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
        let mut options = [0u8; 40];
        let len = match packet.ipv4_options(&mut options) {
            Some(0) => return Verdict::Accept,
            Some(len) => len,
            None => return Verdict::Accept,
        };
        let (src, dst) = packet.ipv4_addrs();
        if !packet.ipv4_is_local(dst) {
            return Verdict::Accept;
        }
        let (at, stacking) = match find_ipv4_option(&options[..len], layout()) {
            Ok(None) => return Verdict::Accept,
            Ok(Some(found)) => found,
            Err(e) => return self.refuse(src, stacking_error(e)),
        };
        let restored = match home::ingress(&self.config(), &stacking, src, dst) {
            Ok(restored) => restored,
            Err(RestoreError::NotOurs) => {
                return self.refuse(src, "it stacks a home address that is not this node's")
            }
            Err(RestoreError::Impossible) => {
                return self.refuse(src, "it stacks this node's address or its own source")
            }
        };
        let option_len = ipv4_option_len_of(&stacking);
        let done = packet
            .blank_ipv4_options(at, option_len)
            .and_then(|()| packet.translate4(restored.src, restored.dst, false));
        if let Err(e) = done {
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

    fn refuse(&self, src: u32, why: &str) -> Verdict {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "home: dropping a stacked packet from {}: {}\n",
                ipv4::dotted(src, &mut [0; 16]),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }

    /// The `home` line of `/proc/net/sitemh`.
    pub(crate) fn show(&self, m: &SeqFile) {
        let config = self.config();
        seq_print!(
            m,
            "home addr {} careof {} stacked {} restored {} refused {} bindings {}\n",
            ipv4::dotted(config.home, &mut [0; 16]),
            ipv4::dotted(config.careof, &mut [0; 16]),
            self.counters.stacked.load(Ordering::Relaxed),
            self.counters.restored.load(Ordering::Relaxed),
            self.counters.refused.load(Ordering::Relaxed),
            self.bound.load(Ordering::Relaxed)
        );
    }
}

fn ipv4_option_len_of(stacking: &crate::logic::stacking::Stacking<u32>) -> usize {
    crate::logic::stacking::ipv4_option_len(stacking.stacking_type()).unwrap_or(0)
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

/// The knobs of `net.ipv4.sitemh_home.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HomeField {
    CareofAddr,
    Correspondent,
}

/// One knob of the home-address state.
pub(crate) struct HomeKnob {
    state: Arc<Home>,
    field: HomeField,
}

impl HomeKnob {
    /// Registers `net.ipv4.sitemh_home.{careof_addr,correspondent}`.
    pub(crate) fn register(net: &Net, state: &Arc<Home>) -> Result<NetSysctlText<HomeKnob>> {
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
        NetSysctlText::register(net, c"net/ipv4/sitemh_home", knobs)
    }

    fn refuse(&self, text: &[u8], what: &str) -> Result {
        if net_ratelimit() {
            pr_warn!(
                "net.ipv4.sitemh_home: refusing {:?}: {}\n",
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                what
            );
        }
        Err(EINVAL)
    }
}

impl TextKnob for HomeKnob {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let shown = match self.field {
            HomeField::Correspondent => write!(
                out,
                "{}",
                u8::from(self.state.correspondent.load(Ordering::Relaxed))
            ),
            HomeField::CareofAddr => write!(
                out,
                "{}",
                ipv4::dotted(self.state.careof.load(Ordering::Relaxed), &mut [0; 16])
            ),
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
                let Ok(addr) = ipv4::parse_addr(text) else {
                    return self.refuse(text, "not an IPv4 address");
                };
                if addr != 0 && !addr.usable_as_home() {
                    return self.refuse(text, "not a unicast address");
                }
                let was = self.state.careof.swap(addr, Ordering::Relaxed);
                if let Err(e) = self.state.update_hooks() {
                    self.state.careof.store(was, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}
