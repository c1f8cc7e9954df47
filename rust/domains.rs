// SPDX-License-Identifier: GPL-2.0

//! IP domains of one namespace and address family: the draft's sysctl tree
//! (`ip_num_domains` = IPCTL_NUM_DOMAINS, `ip_domain.<n>.{net_addr,net_mask,def_router}` =
//! IPCTL_DOMAIN) and the table that the packet path reads.
//!
//! Every accepted write builds a complete new [`Snapshot`] and publishes it through RCU, so
//! a packet sees the whole old table or the whole new one. A refused write changes nothing.

#![forbid(unsafe_code)]

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicU64,
        Ordering, //
    },
};

use kernel::{
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        rcu,
        Arc,
        Mutex, //
    },
};

use crate::{
    family::Family,
    ffi::{
        net::{
            current_is_net_admin,
            Net, //
        },
        netdev,
        rcu::RcuBox,
        route::DstCache,
        sysctl::{
            indexed_path,
            NetSysctlText,
            TextKnob, //
        },
    },
    hook_user::Hooks,
    logic::{
        domain::{
            DomainConfig,
            DomainTable,
            MAX_DOMAINS, //
        },
        prefix::{
            AddrError,
            Bits, //
        },
        select::{
            OutsideCache,
            PathAttrs, //
        },
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
};

/// Why an address write was refused, for the log line.
fn reason(e: AddrError) -> &'static str {
    match e {
        AddrError::Syntax => "not an address of this family",
        AddrError::NonContiguousMask => "the mask is not contiguous",
        AddrError::PrefixTooLong => "the prefix is longer than the address",
        AddrError::HostBitsSet => "the address has bits set beyond the mask",
    }
}

/// Logs a refused write, rate-limited: the writer also gets `EINVAL`.
fn refuse<F: Family>(index: usize, field: Field, text: &[u8], why: &str) -> Error {
    if crate::ffi::net::net_ratelimit() {
        let shown = core::str::from_utf8(text).unwrap_or("<not UTF-8>");
        pr_warn!(
            "{}.ip_domain.{}.{}: refusing {:?}: {}\n",
            F::SYSCTL,
            index,
            field.name(),
            shown,
            why
        );
    }
    EINVAL
}

/// Per-domain counters, kept across table changes of the same domain number.
#[derive(Default)]
pub(crate) struct DomainCounters {
    /// Packets sent to the domain's default router.
    pub(crate) rerouted: AtomicU64,
    /// Packets from the (private) domain dropped because they would have left the site.
    pub(crate) confined: AtomicU64,
    /// Packets dropped because there was no route to the domain's default router, or
    /// IPsec policy refused the rerouted flow.
    pub(crate) no_route: AtomicU64,
    /// Packets left on the route the stack gave them: bound for an IPsec transform, in a
    /// VRF whose table does not reach the router, or from a socket bound to another device.
    pub(crate) kept: AtomicU64,
}

impl DomainCounters {
    fn reset(&self) {
        self.rerouted.store(0, Ordering::Relaxed);
        self.confined.store(0, Ordering::Relaxed);
        self.no_route.store(0, Ordering::Relaxed);
        self.kept.store(0, Ordering::Relaxed);
    }
}

/// The table in force and a route cache per domain that has a router.
pub(crate) struct Snapshot<F: Family> {
    /// The domains.
    pub(crate) table: DomainTable<F::Addr>,
    /// Indexed by domain number.
    pub(crate) caches: [Option<DstCache>; MAX_DOMAINS],
    /// Path attributes for ranking, by domain number.
    pub(crate) paths: [PathAttrs; MAX_DOMAINS],
    /// The home address, when `ip_use_homeaddr` selects it.
    pub(crate) home: Option<F::Addr>,
    /// The home address whether selected or not: the packets of sockets bound to it are
    /// stacked (see `home.rs`), so that toggling `ip_use_homeaddr` changes only what new
    /// connections choose.
    pub(crate) own_home: Option<F::Addr>,
    /// The co-located care-of address while away (`sitemh_home.careof_addr`).
    pub(crate) careof: Option<F::Addr>,
    /// How long selection waits for echo probes, in milliseconds (0: no probing).
    pub(crate) probe_ms: u32,
    /// Bumped for every table published: what was computed from an older table is stale.
    pub(crate) generation: u64,
}

impl<F: Family> Snapshot<F> {
    fn new(config: &Config<F>, generation: u64) -> Result<KBox<Self>> {
        let configs = &config.domains[..config.count];
        let table = DomainTable::new(configs);
        let mut caches: [Option<DstCache>; MAX_DOMAINS] = Default::default();
        for domain in table.domains() {
            if domain.router.is_some() {
                caches[usize::from(domain.index)] = Some(DstCache::new()?);
            }
        }
        let home = if config.use_homeaddr {
            config.home_addr
        } else {
            None
        };
        Ok(KBox::new(
            Self {
                table,
                caches,
                paths: config.paths,
                home,
                own_home: config.home_addr,
                careof: config.careof_addr,
                probe_ms: config.probe_ms,
                generation,
            },
            GFP_KERNEL,
        )?)
    }
}

/// A copy of what address selection needs from a [`Snapshot`].
pub(crate) struct SelectionView<F: Family> {
    /// The domains.
    pub(crate) table: DomainTable<F::Addr>,
    /// Path attributes, by domain number.
    pub(crate) paths: [PathAttrs; MAX_DOMAINS],
    /// Domains whose router has no route, by domain number.
    pub(crate) down: [bool; MAX_DOMAINS],
    /// The home address, if selected.
    pub(crate) home: Option<F::Addr>,
    /// Echo-probe wait, milliseconds (0: off).
    pub(crate) probe_ms: u32,
    /// The table's generation.
    pub(crate) generation: u64,
}

/// The configuration as sysctl wrote it.
struct Config<F: Family> {
    count: usize,
    domains: [DomainConfig<F::Addr>; MAX_DOMAINS],
    paths: [PathAttrs; MAX_DOMAINS],
    /// `ip_use_homeaddr` (IPCTL_USE_HOMEADDR).
    use_homeaddr: bool,
    /// `ip_home_addr`: the node's home (or provider-independent) address.
    home_addr: Option<F::Addr>,
    /// `sitemh_home.careof_addr` (see `home.rs`).
    careof_addr: Option<F::Addr>,
    /// `ip_path_probe_ms`.
    probe_ms: u32,
}

// Not derived: that would ask `F: Copy` of the family marker.
impl<F: Family> Clone for Config<F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F: Family> Copy for Config<F> {}

impl<F: Family> Config<F> {
    const EMPTY: Self = Self {
        count: 0,
        domains: [DomainConfig::EMPTY; MAX_DOMAINS],
        paths: [PathAttrs::UNKNOWN; MAX_DOMAINS],
        use_homeaddr: false,
        home_addr: None,
        careof_addr: None,
        probe_ms: 0,
    };
}

/// The domains of one family in one namespace.
#[pin_data]
pub(crate) struct FamilyState<F: Family> {
    /// The `ip_domain.<n>` nodes. Held by writers of `ip_num_domains`, who add and remove
    /// nodes; node handlers never take it, so removing a node (which waits for its handlers)
    /// under it cannot deadlock.
    #[pin]
    nodes: Mutex<KVec<NetSysctlText<DomainKnob<F>>>>,
    /// The configuration. Every change publishes a new table while holding it.
    #[pin]
    config: Mutex<Config<F>>,
    /// What the packet path reads.
    table: RcuBox<Snapshot<F>>,
    /// Tables published so far (under `config`): the next one's generation.
    published: AtomicU64,
    /// Address selection's last rankings for destinations outside the domains.
    #[pin]
    outside: Mutex<OutsideCache<F::Addr>>,
    /// Indexed by domain number.
    pub(crate) counters: [DomainCounters; MAX_DOMAINS],
    /// The namespace, for interface names; it outlives its state.
    net: crate::ffi::net::NetRef,
    /// The namespace's packet hooks: wanted while this family has a domain.
    hooks: Hooks,
}

impl<F: Family> FamilyState<F> {
    /// An empty state for `net`.
    pub(crate) fn new(net: &Net, hooks: Hooks) -> Result<Arc<Self>> {
        let table = RcuBox::new(Snapshot::new(&Config::EMPTY, 0)?);
        Arc::pin_init(
            pin_init!(Self {
                nodes <- new_mutex!(KVec::new()),
                config <- new_mutex!(Config::EMPTY),
                table,
                published: AtomicU64::new(1),
                outside <- new_mutex!(OutsideCache::new()),
                counters: Default::default(),
                net: crate::ffi::net::NetRef::new(net),
                hooks,
            }),
            GFP_KERNEL,
        )
    }

    /// What address selection reads, copied out of the table in force (selection sleeps,
    /// so it cannot hold the RCU read lock). A domain whose router has no route is down;
    /// the look-up uses the packet path's route cache, so it is cheap while routes hold.
    pub(crate) fn selection_view(&self) -> SelectionView<F> {
        let guard = rcu::read_lock();
        let snapshot = self.snapshot(&guard);
        let mut down = [false; MAX_DOMAINS];
        for domain in snapshot.table.domains() {
            let index = usize::from(domain.index);
            if let (Some(router), Some(cache)) = (domain.router, &snapshot.caches[index]) {
                down[index] = F::route_via(self.net.get(), cache, router).is_err();
            }
        }
        SelectionView {
            table: snapshot.table,
            paths: snapshot.paths,
            down,
            home: snapshot.home,
            probe_ms: snapshot.probe_ms,
            generation: snapshot.generation,
        }
    }

    /// The generation of the table in force if every one of `dsts` is outside its domains
    /// and selection does not probe: then their ranking depends on their class alone and
    /// may be remembered ([`Self::outside_cache`]).
    pub(crate) fn outside_generation(&self, dsts: &[F::Addr]) -> Option<u64> {
        let guard = rcu::read_lock();
        let snapshot = self.snapshot(&guard);
        let outside = dsts.iter().all(|&d| snapshot.table.domain_of(d).is_none());
        (outside && snapshot.probe_ms == 0).then_some(snapshot.generation)
    }

    /// Sets the care-of address (`None`: at home) and publishes it.
    pub(crate) fn set_careof(&self, careof: Option<F::Addr>) -> Result {
        self.update(|c| {
            c.careof_addr = careof;
            Ok(())
        })
    }

    /// The remembered outside rankings.
    pub(crate) fn outside_cache(&self) -> &Mutex<OutsideCache<F::Addr>> {
        &self.outside
    }

    /// The table in force, for the duration of `guard`.
    pub(crate) fn snapshot<'a>(&'a self, guard: &'a rcu::Guard) -> &'a Snapshot<F> {
        self.table.read(guard)
    }

    /// Builds and publishes the table of `config`; on error the old table stays. The
    /// packet hooks are registered before a first domain (or a home address, whose
    /// tunnelled packets `home.rs` watches for) takes effect and unregistered after the
    /// last one went.
    fn publish(&self, config: &Config<F>) -> Result {
        let generation = self.published.fetch_add(1, Ordering::Relaxed);
        let snapshot = Snapshot::new(config, generation)?;
        let wanted = [
            (F::HOOKS_BIT, !snapshot.table.is_empty()),
            (F::HOME_ADDR_HOOKS_BIT, snapshot.own_home.is_some()),
        ];
        for &(bit, on) in &wanted {
            if on {
                self.hooks.want(bit, true)?;
            }
        }
        self.table.replace(snapshot);
        for &(bit, on) in &wanted {
            if !on {
                self.hooks.want(bit, false)?;
            }
        }
        Ok(())
    }

    /// Applies `change` to a copy of the configuration and publishes it; on error (from
    /// `change` or from publishing) nothing changes.
    fn update(&self, change: impl FnOnce(&mut Config<F>) -> Result) -> Result {
        let mut config = self.config.lock();
        let mut next = *config;
        change(&mut next)?;
        self.publish(&next)?;
        *config = next;
        // The hosts' link failure asks new routers for their state.
        self.hooks.notify();
        Ok(())
    }

    /// Publishes the same table with empty route caches, so that no cached route keeps a
    /// device that went down or away. Nothing to report on failure: the old table stays,
    /// and its routes are revalidated on use.
    pub(crate) fn flush_routes(&self) {
        let config = self.config.lock();
        if let Err(e) = self.publish(&config) {
            pr_warn!("{}: could not flush cached routes: {:?}\n", F::NAME, e);
        }
    }

    /// Makes exactly the nodes `ip_domain.0` .. `ip_domain.(count-1)` exist; lowering the
    /// count forgets the removed domains. On error nothing changes.
    fn set_count(self: &Arc<Self>, count: usize) -> Result {
        if count > MAX_DOMAINS {
            return Err(EINVAL);
        }
        let mut nodes = self.nodes.lock();
        let current = nodes.len();
        if count > current {
            // Register every new node before any becomes usable; on error the ones
            // registered so far are dropped (unregistered) with `added`.
            let mut added = KVec::with_capacity(count - current, GFP_KERNEL)?;
            for index in current..count {
                added.push(self.register_node(index)?, GFP_KERNEL)?;
            }
            nodes.reserve(added.len(), GFP_KERNEL)?;
            for node in added {
                nodes.push(node, GFP_KERNEL)?;
            }
            self.config.lock().count = count;
        } else if count < current {
            self.update(|config| {
                config.domains[count..].fill(DomainConfig::EMPTY);
                config.paths[count..].fill(PathAttrs::UNKNOWN);
                config.count = count;
                Ok(())
            })?;
            for counters in &self.counters[count..] {
                counters.reset();
            }
            // Removing a node waits for its handlers, which take `config` only.
            nodes.truncate(count);
        }
        Ok(())
    }

    fn register_node(self: &Arc<Self>, index: usize) -> Result<NetSysctlText<DomainKnob<F>>> {
        let mut knobs = KVec::with_capacity(Field::ALL.len(), GFP_KERNEL)?;
        for field in Field::ALL {
            knobs.push(
                (
                    field.proc_name(),
                    DomainKnob {
                        state: self.clone(),
                        index,
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        let path = indexed_path(F::DOMAIN_DIR, index)?;
        NetSysctlText::register(self.net.get(), &path, knobs)
    }

    /// Removes every node; breaks the reference cycle between the nodes and the state.
    pub(crate) fn remove_nodes(&self) {
        self.nodes.lock().clear();
    }

    /// Writes the `/proc/net/sitemh` lines of this family.
    pub(crate) fn show(&self, m: &SeqFile) {
        let guard = rcu::read_lock();
        let snapshot = self.snapshot(&guard);
        let mut text = [0u8; 96];
        for domain in snapshot.table.domains() {
            let index = usize::from(domain.index);
            let mut out = FixedBuf::new(&mut text);
            let _ = F::write_addr(&mut out, domain.prefix.addr());
            let _ = write!(out, "/{} ", domain.prefix.prefix_len());
            let _ = match domain.router {
                Some(router) => F::write_addr(&mut out, router.addr),
                None => out.write_str("private"),
            };
            let c = &self.counters[index];
            seq_print!(
                m,
                "{} {} {} {} {} {} {}\n",
                F::NAME,
                index,
                core::str::from_utf8(out.as_bytes()).unwrap_or("?"),
                c.rerouted.load(Ordering::Relaxed),
                c.confined.load(Ordering::Relaxed),
                c.no_route.load(Ordering::Relaxed),
                c.kept.load(Ordering::Relaxed)
            );
        }
    }
}

/// The fields of a domain node: the draft's DOMAIN_NET_ADDR, DOMAIN_NET_MASK and
/// DOMAIN_DEF_ROUTER, and the provider path's attributes that ranking weighs (draft
/// 2.1.1; configured because the PE's RSVP/MPLS UNI answer is not available).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    NetAddr,
    NetMask,
    DefRouter,
    /// Bandwidth allocated to the customer, kbit/s.
    Bandwidth,
    /// Gross effective bandwidth allocated to the provider's customers, kbit/s.
    GrossBandwidth,
    /// AVAILABLE_PATH_BANDWIDTH, kbit/s.
    PathBandwidth,
    /// Unused bandwidth allocated to the customer, kbit/s.
    UnusedBandwidth,
    /// NUMBER_OF_IS_HOPS.
    Hops,
    /// MINIMUM_PATH_LATENCY, microseconds.
    Latency,
}

impl Field {
    const ALL: [Field; 9] = [
        Field::NetAddr,
        Field::NetMask,
        Field::DefRouter,
        Field::Bandwidth,
        Field::GrossBandwidth,
        Field::PathBandwidth,
        Field::UnusedBandwidth,
        Field::Hops,
        Field::Latency,
    ];

    fn proc_name(self) -> &'static CStr {
        match self {
            Field::NetAddr => c"net_addr",
            Field::NetMask => c"net_mask",
            Field::DefRouter => c"def_router",
            Field::Bandwidth => c"bandwidth",
            Field::GrossBandwidth => c"gross_bandwidth",
            Field::PathBandwidth => c"path_bandwidth",
            Field::UnusedBandwidth => c"unused_bandwidth",
            Field::Hops => c"hops",
            Field::Latency => c"latency",
        }
    }

    fn name(self) -> &'static str {
        self.proc_name().to_str().unwrap_or("?")
    }

    /// The path attribute this field holds, if it is one.
    fn attr(self, paths: &mut PathAttrs) -> Option<&mut u32> {
        match self {
            Field::Bandwidth => Some(&mut paths.customer_bandwidth),
            Field::GrossBandwidth => Some(&mut paths.gross_bandwidth),
            Field::PathBandwidth => Some(&mut paths.path_bandwidth),
            Field::UnusedBandwidth => Some(&mut paths.unused_bandwidth),
            Field::Hops => Some(&mut paths.hops),
            Field::Latency => Some(&mut paths.latency_us),
            Field::NetAddr | Field::NetMask | Field::DefRouter => None,
        }
    }
}

/// One field of one `ip_domain.<index>` node.
pub(crate) struct DomainKnob<F: Family> {
    state: Arc<FamilyState<F>>,
    index: usize,
    field: Field,
}

impl<F: Family> TextKnob for DomainKnob<F> {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let mut config = self.state.config.lock();
        if self.index >= config.count {
            return Err(ENOENT);
        }
        if let Some(value) = self.field.attr(&mut config.paths[self.index]) {
            return write!(out, "{}", *value).map_err(|_| EOVERFLOW);
        }
        let domain = &config.domains[self.index];
        let written = match self.field {
            // An address not written yet reads as empty.
            Field::NetAddr => match domain.net_addr() {
                Some(addr) => F::write_addr(out, addr),
                None => Ok(()),
            },
            Field::NetMask => F::write_addr(out, F::Addr::mask(domain.prefix_len())),
            Field::DefRouter => match domain.def_router() {
                Some(router) => F::write_addr(out, router.addr).and_then(|()| {
                    if router.ifindex == 0 {
                        return Ok(());
                    }
                    netdev::with_ifname(self.state.net.get(), router.ifindex, |name| {
                        let name = name.and_then(|n| core::str::from_utf8(n).ok());
                        write!(out, "%{}", name.unwrap_or("?"))
                    })
                }),
                None => F::write_addr(out, F::Addr::ZERO),
            },
            _ => Ok(()),
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        let net = self.state.net.get();
        if !current_is_net_admin(net) {
            return Err(EPERM);
        }
        let refused = |why: &str| refuse::<F>(self.index, self.field, text, why);
        // Parse before taking the lock; interface look-ups may sleep.
        let router = match self.field {
            Field::DefRouter => Some(F::parse_router(net, text).map_err(|e| {
                if e == ENODEV {
                    refused("no such interface");
                    e
                } else {
                    refused("not a router address (link-local needs %interface)")
                }
            })?),
            _ => None,
        };
        let mut scratch = PathAttrs::UNKNOWN;
        let attr = match self.field.attr(&mut scratch) {
            Some(_) => Some(parse_u32(text).ok_or_else(|| refused("not a number (0..999999999)"))?),
            None => None,
        };
        self.state.update(|config| {
            if self.index >= config.count {
                return Err(ENOENT);
            }
            if let (Some(value), Some(slot)) =
                (attr, self.field.attr(&mut config.paths[self.index]))
            {
                *slot = value;
                return Ok(());
            }
            let domain = &mut config.domains[self.index];
            match (self.field, router) {
                (Field::DefRouter, Some(router)) => domain.set_def_router(router),
                (Field::NetAddr, _) => {
                    let addr = F::parse_addr(text).map_err(|e| refused(reason(e)))?;
                    domain.set_net_addr(addr).map_err(|e| refused(reason(e)))?;
                }
                (Field::NetMask, _) => {
                    let len = F::parse_mask(text).map_err(|e| refused(reason(e)))?;
                    domain.set_prefix_len(len).map_err(|e| refused(reason(e)))?;
                }
                _ => return Err(EINVAL),
            }
            Ok(())
        })
    }
}

/// A decimal number, 0..=999999999.
fn parse_u32(text: &[u8]) -> Option<u32> {
    parse_decimal(text)
}

/// The knobs of a family directory (`net.ipv4.` / `net.ipv6.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FamilyField {
    /// `ip_num_domains` (IPCTL_NUM_DOMAINS).
    NumDomains,
    /// `ip_use_homeaddr` (IPCTL_USE_HOMEADDR): 1 selects the home address for peers
    /// outside the domains.
    UseHomeAddr,
    /// `ip_home_addr`: the node's home (or provider-independent) address; empty: none.
    HomeAddr,
    /// `ip_path_probe_ms`: how long address selection waits for its echo probes; 0 turns
    /// probing off (configured latencies rank instead).
    ProbeMs,
}

impl FamilyField {
    const ALL: [FamilyField; 4] = [
        FamilyField::NumDomains,
        FamilyField::UseHomeAddr,
        FamilyField::HomeAddr,
        FamilyField::ProbeMs,
    ];

    fn proc_name(self) -> &'static CStr {
        match self {
            FamilyField::NumDomains => c"ip_num_domains",
            FamilyField::UseHomeAddr => c"ip_use_homeaddr",
            FamilyField::HomeAddr => c"ip_home_addr",
            FamilyField::ProbeMs => c"ip_path_probe_ms",
        }
    }
}

/// Longest echo-probe wait: selection blocks its caller meanwhile.
const MAX_PROBE_MS: u32 = 10_000;

/// A knob of a family directory.
pub(crate) struct FamilyKnob<F: Family> {
    state: Arc<FamilyState<F>>,
    field: FamilyField,
}

impl<F: Family> FamilyKnob<F> {
    /// The knobs of `state`, registered under [`Family::DIR`].
    pub(crate) fn register(
        net: &Net,
        state: &Arc<FamilyState<F>>,
    ) -> Result<NetSysctlText<FamilyKnob<F>>> {
        let mut knobs = KVec::with_capacity(FamilyField::ALL.len(), GFP_KERNEL)?;
        for field in FamilyField::ALL {
            knobs.push(
                (
                    field.proc_name(),
                    FamilyKnob {
                        state: state.clone(),
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        let path = kernel::str::CString::try_from_fmt(fmt!("{}", F::DIR))?;
        NetSysctlText::register(net, &path, knobs)
    }

    /// Logs a refused write, rate-limited; the writer gets `EINVAL`.
    fn refuse(&self, text: &[u8], why: &str) -> Error {
        if crate::ffi::net::net_ratelimit() {
            pr_warn!(
                "{}.{}: refusing {:?}: {}\n",
                F::SYSCTL,
                self.field.proc_name().to_str().unwrap_or("?"),
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                why
            );
        }
        EINVAL
    }
}

impl<F: Family> TextKnob for FamilyKnob<F> {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let config = self.state.config.lock();
        let written = match self.field {
            FamilyField::NumDomains => write!(out, "{}", config.count),
            FamilyField::UseHomeAddr => write!(out, "{}", u8::from(config.use_homeaddr)),
            FamilyField::HomeAddr => match config.home_addr {
                Some(addr) => F::write_addr(out, addr),
                None => Ok(()),
            },
            FamilyField::ProbeMs => write!(out, "{}", config.probe_ms),
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        match self.field {
            FamilyField::NumDomains => match parse_decimal(text).map(|n| n as usize) {
                Some(count) if count <= MAX_DOMAINS => self.state.set_count(count),
                _ => Err(self.refuse(text, "not a number of domains (0..=16)")),
            },
            FamilyField::UseHomeAddr => {
                let on = match text {
                    b"0" => false,
                    b"1" => true,
                    _ => return Err(self.refuse(text, "not 0 or 1")),
                };
                self.state.update(|c| {
                    c.use_homeaddr = on;
                    Ok(())
                })
            }
            FamilyField::HomeAddr => {
                let addr = if text.is_empty() {
                    None
                } else {
                    let addr = F::parse_addr(text).map_err(|e| self.refuse(text, reason(e)))?;
                    if addr == F::Addr::ZERO {
                        None
                    } else {
                        Some(addr)
                    }
                };
                self.state.update(|c| {
                    c.home_addr = addr;
                    Ok(())
                })
            }
            FamilyField::ProbeMs => match parse_decimal(text) {
                Some(ms) if ms <= MAX_PROBE_MS => self.state.update(|c| {
                    c.probe_ms = ms;
                    Ok(())
                }),
                _ => Err(self.refuse(text, "not a wait in milliseconds (0..=10000)")),
            },
        }
    }
}
