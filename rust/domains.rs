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
    logic::{
        domain::{
            DomainConfig,
            DomainTable,
            Router,
            MAX_DOMAINS, //
        },
        ipv4,
        ipv6, //
        prefix::{
            AddrError,
            Bits, //
        },
        text::{
            parse_decimal,
            FixedBuf, //
        },
    },
};

/// What differs between IPv4 and IPv6 domains.
pub(crate) trait Family: Send + Sync + 'static {
    /// The address bits.
    type Addr: Bits + Send + Sync + Unpin + core::fmt::Debug;
    /// The sysctl directory of the family's knobs.
    const DIR: &'static str;
    /// The same as sysctl(8) names it, for log lines.
    const SYSCTL: &'static str;
    /// The directory of the domain nodes.
    const DOMAIN_DIR: &'static str;
    /// The family's name in `/proc/net/sitemh` and in log lines.
    const NAME: &'static str;

    /// Parses an address.
    fn parse_addr(text: &[u8]) -> Result<Self::Addr, AddrError>;
    /// Parses a mask (`/N` or an address-form mask) into a prefix length.
    fn parse_mask(text: &[u8]) -> Result<u8, AddrError>;
    /// Writes an address.
    fn write_addr(out: &mut FixedBuf<'_>, addr: Self::Addr) -> core::fmt::Result;
    /// Parses a default router, resolving an interface name if the family has scopes.
    fn parse_router(net: &Net, text: &[u8]) -> Result<Router<Self::Addr>>;
}

/// IPv4.
pub(crate) struct V4;

impl Family for V4 {
    type Addr = u32;
    const DIR: &'static str = "net/ipv4";
    const SYSCTL: &'static str = "net.ipv4";
    const DOMAIN_DIR: &'static str = "net/ipv4/ip_domain";
    const NAME: &'static str = "ipv4";

    fn parse_addr(text: &[u8]) -> Result<u32, AddrError> {
        ipv4::parse_addr(text)
    }

    fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
        ipv4::parse_mask(text)
    }

    fn write_addr(out: &mut FixedBuf<'_>, addr: u32) -> core::fmt::Result {
        write!(out, "{}", ipv4::Dotted(addr))
    }

    fn parse_router(_net: &Net, text: &[u8]) -> Result<Router<u32>> {
        let addr = ipv4::parse_addr(text).map_err(|_| EINVAL)?;
        Ok(Router { addr, ifindex: 0 })
    }
}

/// IPv6.
pub(crate) struct V6;

impl Family for V6 {
    type Addr = u128;
    const DIR: &'static str = "net/ipv6";
    const SYSCTL: &'static str = "net.ipv6";
    const DOMAIN_DIR: &'static str = "net/ipv6/ip_domain";
    const NAME: &'static str = "ipv6";

    fn parse_addr(text: &[u8]) -> Result<u128, AddrError> {
        ipv6::parse_addr(text)
    }

    fn parse_mask(text: &[u8]) -> Result<u8, AddrError> {
        ipv6::parse_mask(text)
    }

    fn write_addr(out: &mut FixedBuf<'_>, addr: u128) -> core::fmt::Result {
        write!(out, "{}", ipv6::Canonical(addr))
    }

    /// `fe80::1%eth0`: a link-local router needs the interface it is reached on.
    fn parse_router(net: &Net, text: &[u8]) -> Result<Router<u128>> {
        let (addr_text, ifname) = match text.iter().position(|&c| c == b'%') {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        let addr = ipv6::parse_addr(addr_text).map_err(|_| EINVAL)?;
        let ifindex = match ifname {
            Some(name) => netdev::ifindex_by_name(net, name)?,
            None if ipv6::is_link_local(addr) => return Err(EINVAL),
            None => 0,
        };
        Ok(Router { addr, ifindex })
    }
}

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
    /// Packets dropped because there was no route to the domain's default router.
    pub(crate) no_route: AtomicU64,
}

impl DomainCounters {
    fn reset(&self) {
        self.rerouted.store(0, Ordering::Relaxed);
        self.confined.store(0, Ordering::Relaxed);
        self.no_route.store(0, Ordering::Relaxed);
    }
}

/// The table in force and a route cache per domain that has a router.
pub(crate) struct Snapshot<F: Family> {
    /// The domains.
    pub(crate) table: DomainTable<F::Addr>,
    /// Indexed by domain number.
    pub(crate) caches: [Option<DstCache>; MAX_DOMAINS],
}

impl<F: Family> Snapshot<F> {
    fn new(configs: &[DomainConfig<F::Addr>]) -> Result<KBox<Self>> {
        let table = DomainTable::new(configs);
        let mut caches: [Option<DstCache>; MAX_DOMAINS] = Default::default();
        for domain in table.domains() {
            if domain.router.is_some() {
                caches[usize::from(domain.index)] = Some(DstCache::new()?);
            }
        }
        Ok(KBox::new(Self { table, caches }, GFP_KERNEL)?)
    }
}

/// The configuration as sysctl wrote it.
struct Config<F: Family> {
    count: usize,
    domains: [DomainConfig<F::Addr>; MAX_DOMAINS],
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
    /// Indexed by domain number.
    pub(crate) counters: [DomainCounters; MAX_DOMAINS],
    /// The namespace, for interface names; it outlives its state.
    net: crate::ffi::net::NetRef,
}

impl<F: Family> FamilyState<F> {
    /// An empty state for `net`.
    pub(crate) fn new(net: &Net) -> Result<Arc<Self>> {
        let table = RcuBox::new(Snapshot::new(&[])?);
        Arc::pin_init(
            pin_init!(Self {
                nodes <- new_mutex!(KVec::new()),
                config <- new_mutex!(Config {
                    count: 0,
                    domains: [DomainConfig::default(); MAX_DOMAINS],
                }),
                table,
                counters: Default::default(),
                net: crate::ffi::net::NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    /// The table in force, for the duration of `guard`.
    pub(crate) fn snapshot<'a>(&'a self, guard: &'a rcu::Guard) -> &'a Snapshot<F> {
        self.table.read(guard)
    }

    /// Builds and publishes the table of `domains`; on error the old table stays.
    fn publish(&self, domains: &[DomainConfig<F::Addr>]) -> Result {
        self.table.replace(Snapshot::new(domains)?);
        Ok(())
    }

    /// Publishes the same table with empty route caches, so that no cached route keeps a
    /// device that went down or away. Nothing to report on failure: the old table stays,
    /// and its routes are revalidated on use.
    pub(crate) fn flush_routes(&self) {
        let config = self.config.lock();
        if let Err(e) = self.publish(&config.domains[..config.count]) {
            pr_warn!("{}: could not flush cached routes: {:?}\n", F::NAME, e);
        }
    }

    /// The number of domains.
    fn count(&self) -> usize {
        self.config.lock().count
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
            {
                let mut config = self.config.lock();
                let mut domains = config.domains;
                for domain in &mut domains[count..] {
                    *domain = DomainConfig::default();
                }
                self.publish(&domains[..count])?;
                config.count = count;
                config.domains = domains;
            }
            for counters in &self.counters[count..] {
                counters.reset();
            }
            // Removing a node waits for its handlers, which take `config` only.
            nodes.truncate(count);
        }
        Ok(())
    }

    fn register_node(self: &Arc<Self>, index: usize) -> Result<NetSysctlText<DomainKnob<F>>> {
        let mut knobs = KVec::with_capacity(3, GFP_KERNEL)?;
        for field in [Field::NetAddr, Field::NetMask, Field::DefRouter] {
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
                "{} {} {} {} {} {}\n",
                F::NAME,
                index,
                core::str::from_utf8(out.as_bytes()).unwrap_or("?"),
                c.rerouted.load(Ordering::Relaxed),
                c.confined.load(Ordering::Relaxed),
                c.no_route.load(Ordering::Relaxed)
            );
        }
    }
}

/// The fields of a domain node (DOMAIN_NET_ADDR, DOMAIN_NET_MASK, DOMAIN_DEF_ROUTER).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    NetAddr,
    NetMask,
    DefRouter,
}

impl Field {
    fn proc_name(self) -> &'static CStr {
        match self {
            Field::NetAddr => c"net_addr",
            Field::NetMask => c"net_mask",
            Field::DefRouter => c"def_router",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Field::NetAddr => "net_addr",
            Field::NetMask => "net_mask",
            Field::DefRouter => "def_router",
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
        let config = self.state.config.lock();
        if self.index >= config.count {
            return Err(ENOENT);
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
        let mut config = self.state.config.lock();
        if self.index >= config.count {
            return Err(ENOENT);
        }
        let mut domain = config.domains[self.index];
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
            (Field::DefRouter, None) => return Err(EINVAL),
        }
        if domain == config.domains[self.index] {
            return Ok(());
        }
        let mut domains = config.domains;
        domains[self.index] = domain;
        self.state.publish(&domains[..config.count])?;
        config.domains = domains;
        Ok(())
    }
}

/// `ip_num_domains` (IPCTL_NUM_DOMAINS).
pub(crate) struct NumDomainsKnob<F: Family> {
    state: Arc<FamilyState<F>>,
}

impl<F: Family> NumDomainsKnob<F> {
    /// The knob of `state`, registered under [`Family::DIR`].
    pub(crate) fn register(
        net: &Net,
        state: &Arc<FamilyState<F>>,
    ) -> Result<NetSysctlText<NumDomainsKnob<F>>> {
        let mut knobs = KVec::with_capacity(1, GFP_KERNEL)?;
        knobs.push(
            (
                c"ip_num_domains",
                NumDomainsKnob {
                    state: state.clone(),
                },
            ),
            GFP_KERNEL,
        )?;
        let path = kernel::str::CString::try_from_fmt(fmt!("{}", F::DIR))?;
        NetSysctlText::register(net, &path, knobs)
    }
}

impl<F: Family> TextKnob for NumDomainsKnob<F> {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        write!(out, "{}", self.state.count()).map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        match parse_decimal(text).map(|n| n as usize) {
            Some(count) if count <= MAX_DOMAINS => self.state.set_count(count),
            _ => {
                if crate::ffi::net::net_ratelimit() {
                    pr_warn!(
                        "{}.ip_num_domains: refusing {:?}: not a number of domains (0..={})\n",
                        F::SYSCTL,
                        core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                        MAX_DOMAINS
                    );
                }
                Err(EINVAL)
            }
        }
    }
}
