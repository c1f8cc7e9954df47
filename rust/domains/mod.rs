// SPDX-License-Identifier: GPL-2.0

//! IP domains of one namespace and address family: the draft's sysctl tree
//! (`ip_num_domains` = IPCTL_NUM_DOMAINS, `ip_domain.<n>.{net_addr,net_mask,def_router}` =
//! IPCTL_DOMAIN) and the table that the packet path reads.
//!
//! Every accepted write builds a complete new [`Snapshot`] and publishes it through RCU, so
//! a packet sees the whole old table or the whole new one. A refused write changes nothing.

#![forbid(unsafe_code)]

mod sysctl;

mod router_adv;

use router_adv::{
    AdvertQueue,
    AutoFlag,
    RaCounts, //
};

use sysctl::DomainKnob;
pub(crate) use sysctl::FamilyKnob;

use core::{
    fmt::Write,
    sync::atomic::{
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
};

use crate::{
    family::Family,
    ffi::{
        net::{
            current_is_net_admin,
            Net, //
        },
        netdev,
        percpu::PerCpuCounters,
        rcu::{
            InHook,
            RcuBox, //
        },
        route::RouteCache,
        sysctl::{
            indexed_path,
            NetSysctlText,
            TextKnob, //
        },
        work::OwnedTicker,
    },
    hook_user::Hooks,
    logic::{
        domain::{
            same_network,
            DomainConfig,
            DomainTable,
            MAX_DOMAINS, //
        },
        prefix::{
            AddrError,
            Bits, //
        },
        router_adv::LearnedDomains,
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

/// What happened to a packet of a domain, for its counters.
#[derive(Clone, Copy)]
pub(crate) enum Counted {
    /// Sent to the domain's default router.
    Rerouted = 0,
    /// From the (private) domain, dropped because it would have left the site.
    Confined = 1,
    /// Dropped: no route to the domain's default router, or IPsec policy refused the
    /// rerouted flow.
    NoRoute = 2,
    /// Left on the route the stack gave it: bound for an IPsec transform, in a VRF whose
    /// table does not reach the router, or from a socket bound to another device.
    Kept = 3,
}

/// Kinds of [`Counted`].
const COUNTED_KINDS: usize = 4;

/// Per-domain packet counters, kept across table changes of the same domain number.
/// Per CPU: the forward path bumps them for every rerouted packet.
pub(crate) struct DomainCounters {
    counts: PerCpuCounters<{ MAX_DOMAINS * COUNTED_KINDS }>,
}

impl DomainCounters {
    fn new() -> Result<Self> {
        Ok(Self {
            counts: PerCpuCounters::new()?,
        })
    }

    /// One more packet of domain `index`.
    pub(crate) fn count(&self, index: u8, what: Counted) {
        self.counts
            .inc(usize::from(index) * COUNTED_KINDS + what as usize);
    }

    /// Domain `index`'s counters: rerouted, confined, no route, kept.
    fn read(&self, index: usize) -> [u64; COUNTED_KINDS] {
        core::array::from_fn(|kind| self.counts.sum(index * COUNTED_KINDS + kind))
    }

    /// Domain `index`'s counters back to zero.
    fn reset(&self, index: usize) {
        for kind in 0..COUNTED_KINDS {
            self.counts.reset(index * COUNTED_KINDS + kind);
        }
    }
}

/// The table in force and a route cache per domain that has a router.
pub(crate) struct Snapshot<F: Family> {
    /// The domains.
    pub(crate) table: DomainTable<F::Addr>,
    /// Indexed by domain number.
    pub(crate) caches: [Option<RouteCache>; MAX_DOMAINS],
    /// Path attributes for ranking, by domain number.
    pub(crate) paths: [PathAttrs; MAX_DOMAINS],
    /// The home address, when `ip_use_homeaddr` selects it.
    pub(crate) home: Option<F::Addr>,
    /// The home address whether selected or not: the packets of sockets bound to it are
    /// stacked (see `home/`), so that toggling `ip_use_homeaddr` changes only what new
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
    fn new(
        config: &Config<F>,
        learned: &LearnedDomains<MAX_DOMAINS>,
        generation: u64,
    ) -> Result<KBox<Self>> {
        let table = with_learned(config, learned)?;
        // Learned domains have no configured path attributes.
        let mut paths = config.paths;
        paths[config.count..].fill(PathAttrs::UNKNOWN);
        let mut caches: [Option<RouteCache>; MAX_DOMAINS] = Default::default();
        for domain in table.domains() {
            if domain.router.is_some() {
                caches[usize::from(domain.index)] = Some(RouteCache::new()?);
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
                paths,
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

/// The table of the configured domains, then the learned ones that fit and that no
/// configured domain of the same network shadows.
fn with_learned<F: Family>(
    config: &Config<F>,
    learned: &LearnedDomains<MAX_DOMAINS>,
) -> Result<DomainTable<F::Addr>> {
    let configured = &config.domains[..config.count];
    if learned.len() == 0 {
        return Ok(DomainTable::new(configured));
    }
    // On the heap: the callers' stacks already hold a configuration and a table.
    let mut all = KVec::with_capacity(MAX_DOMAINS, GFP_KERNEL)?;
    all.extend_from_slice(configured, GFP_KERNEL)?;
    for domain in learned.iter().filter_map(F::learned_config) {
        if all.len() == MAX_DOMAINS {
            break;
        }
        if configured.iter().any(|d| same_network(d, &domain)) {
            continue;
        }
        all.push(domain, GFP_KERNEL)?;
    }
    Ok(DomainTable::new(&all))
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
    /// `sitemh_home.careof_addr` (see `home/`).
    careof_addr: Option<F::Addr>,
    /// `ip_path_probe_ms`.
    probe_ms: u32,
    /// `sitemh_auto` (IPv6): domains are learned from router advertisements.
    auto: bool,
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
        auto: false,
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
    /// Packet counters by domain number.
    pub(crate) counters: DomainCounters,
    /// The namespace, for interface names; it outlives its state.
    net: crate::ffi::net::NetRef,
    /// The namespace's packet hooks: wanted while this family has a domain.
    hooks: Hooks,
    /// Router advertisements heard, waiting for the ticker (learning publishes a table,
    /// which sleeps).
    #[pin]
    adverts: SpinLockIrq<AdvertQueue>,
    /// The domains learned from router advertisements (after the configured ones in the
    /// table; a configured domain of the same network wins). Taken after `config`.
    #[pin]
    learned: Mutex<LearnedDomains<MAX_DOMAINS>>,
    /// Learns from them and drops learned domains as they lapse.
    ticker: OwnedTicker<Self>,
    /// What learning did, for `/proc/net/sitemh`.
    pub(crate) ra_counts: RaCounts,
    /// `sitemh_auto`, for the packet hook.
    auto: AutoFlag,
}

impl<F: Family> FamilyState<F> {
    /// An empty state for `net`.
    pub(crate) fn new(net: &Net, hooks: Hooks) -> Result<Arc<Self>> {
        let table = RcuBox::new(Snapshot::new(&Config::EMPTY, &LearnedDomains::EMPTY, 0)?);
        let counters = DomainCounters::new()?;
        Arc::pin_init(
            pin_init!(Self {
                nodes <- new_mutex!(KVec::new()),
                config <- new_mutex!(Config::EMPTY),
                table,
                published: AtomicU64::new(1),
                outside <- new_mutex!(OutsideCache::new()),
                counters,
                net: crate::ffi::net::NetRef::new(net),
                hooks,
                adverts <- new_spinlock_irq!(AdvertQueue::default()),
                learned <- new_mutex!(LearnedDomains::EMPTY),
                ticker: OwnedTicker::new(),
                ra_counts: RaCounts::default(),
                auto: AutoFlag::new(false),
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

    /// The table in force, for a packet hook (no RCU lock of its own: the hook's).
    pub(crate) fn snapshot_in_hook<'a>(&'a self, rcu: InHook<'a>) -> &'a Snapshot<F> {
        self.table.read_in_hook(rcu)
    }

    /// Builds and publishes the table of `config`; on error the old table stays. The
    /// packet hooks are registered before a first domain (or a home address, whose
    /// tunnelled packets `home/` watches for) takes effect and unregistered after the
    /// last one went.
    fn publish(&self, config: &Config<F>) -> Result {
        let generation = self.published.fetch_add(1, Ordering::Relaxed);
        let snapshot = Snapshot::new(config, &self.learned.lock(), generation)?;
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
            let [rerouted, confined, no_route, kept] = self.counters.read(index);
            seq_print!(
                m,
                "{} {} {} {} {} {} {}\n",
                F::NAME,
                index,
                core::str::from_utf8(out.as_bytes()).unwrap_or("?"),
                rerouted,
                confined,
                no_route,
                kept
            );
        }
    }
}
