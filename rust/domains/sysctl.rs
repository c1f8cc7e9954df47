// SPDX-License-Identifier: GPL-2.0

//! The domains' sysctl nodes: `ip_num_domains` and the family knobs, and
//! `ip_domain.<n>.{net_addr,net_mask,def_router,...}`; a refused write changes nothing.

#![forbid(unsafe_code)]

use super::*;
use crate::{
    ffi::sysctl::TEXT_MAX,
    logic::domain::{
        has_duplicate,
        same_network,
        table_entries,
        TableError, //
    },
};

/// Why an address write was refused, for the log line.
pub(super) fn reason(e: AddrError) -> &'static str {
    match e {
        AddrError::Syntax => "not an address of this family",
        AddrError::NonContiguousMask => "the mask is not contiguous",
        AddrError::PrefixTooLong => "the prefix is longer than the address",
        AddrError::HostBitsSet => "the address has bits set beyond the mask",
    }
}

/// Logs a refused write, rate-limited: the writer also gets `EINVAL`.
pub(super) fn refuse<F: Family>(index: usize, field: Field, text: &[u8], why: &str) -> Error {
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

/// The fields of a domain node: the draft's DOMAIN_NET_ADDR, DOMAIN_NET_MASK and
/// DOMAIN_DEF_ROUTER, and the provider path's attributes that ranking weighs (draft
/// 2.1.1; configured because the PE's RSVP/MPLS UNI answer is not available).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
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

    pub(super) fn proc_name(self) -> &'static CStr {
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

    pub(super) fn name(self) -> &'static str {
        self.proc_name().to_str().unwrap_or("?")
    }

    /// The path attribute this field holds, if it is one.
    pub(super) fn attr(self, paths: &mut PathAttrs) -> Option<&mut u32> {
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

/// Text of a write as a log line shows it.
fn shown(piece: &[u8]) -> &str {
    core::str::from_utf8(piece).unwrap_or("<not UTF-8>")
}

/// A decimal number, 0..=999999999.
pub(super) fn parse_u32(text: &[u8]) -> Option<u32> {
    parse_decimal(text)
}

/// The knobs of a family directory (`net.ipv4.` / `net.ipv6.`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FamilyField {
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
    /// `ip_domain_table`: the whole table in one write, applied atomically (what a DHCP
    /// hook or `sitemhctl` needs: no moment with half a table).
    Table,
    /// `sitemh_auto` (IPv6 only): domains learned from router advertisements.
    Auto,
}

impl FamilyField {
    const ALL: [FamilyField; 6] = [
        FamilyField::NumDomains,
        FamilyField::UseHomeAddr,
        FamilyField::HomeAddr,
        FamilyField::ProbeMs,
        FamilyField::Table,
        FamilyField::Auto,
    ];

    pub(super) fn proc_name(self) -> &'static CStr {
        match self {
            FamilyField::NumDomains => c"ip_num_domains",
            FamilyField::UseHomeAddr => c"ip_use_homeaddr",
            FamilyField::HomeAddr => c"ip_home_addr",
            FamilyField::ProbeMs => c"ip_path_probe_ms",
            FamilyField::Table => c"ip_domain_table",
            FamilyField::Auto => c"sitemh_auto",
        }
    }
}

/// Longest echo-probe wait: selection blocks its caller meanwhile.
pub(super) const MAX_PROBE_MS: u32 = 10_000;

/// The text buffer of `ip_domain_table`: 16 entries of an IPv6 prefix, a link-local router
/// with an interface name and the separators take about 1.7 KiB.
const TABLE_TEXT_MAX: usize = 2048;

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
            // Router advertisements are IPv6's.
            if field == FamilyField::Auto && F::AF != kernel::bindings::AF_INET6 as i32 {
                continue;
            }
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
    pub(super) fn refuse(&self, text: &[u8], why: &str) -> Error {
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
            FamilyField::Table => self.show_table(&config, out),
            FamilyField::Auto => write!(out, "{}", u8::from(config.auto)),
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn max_len(&self) -> usize {
        match self.field {
            FamilyField::Table => TABLE_TEXT_MAX,
            _ => TEXT_MAX,
        }
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
            FamilyField::Table => {
                let table = self.parse_table(text)?;
                self.state.set_table(&table)
            }
            FamilyField::Auto => {
                let on = match text {
                    b"0" => false,
                    b"1" => true,
                    _ => return Err(self.refuse(text, "not 0 or 1")),
                };
                self.state.set_auto(on)
            }
        }
    }
}

impl<F: Family> FamilyKnob<F> {
    /// `ip_domain_table` as it reads: `PREFIX/LEN ROUTER` per domain, joined by `, `;
    /// `private` for no router, `-` for a domain whose `net_addr` is not written yet.
    fn show_table(&self, config: &Config<F>, out: &mut FixedBuf<'_>) -> core::fmt::Result {
        for (index, domain) in config.domains[..config.count].iter().enumerate() {
            if index > 0 {
                out.write_str(", ")?;
            }
            let Some(addr) = domain.net_addr() else {
                out.write_str("-")?;
                continue;
            };
            F::write_addr(out, addr)?;
            write!(out, "/{} ", domain.prefix_len())?;
            match domain.def_router() {
                None => out.write_str("private")?,
                Some(router) => {
                    F::write_addr(out, router.addr)?;
                    if router.ifindex != 0 {
                        netdev::with_ifname(self.state.net.get(), router.ifindex, |name| {
                            let name = name.and_then(|n| core::str::from_utf8(n).ok());
                            write!(out, "%{}", name.unwrap_or("?"))
                        })?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Parses a whole `ip_domain_table` write; any bad entry refuses all of it.
    /// On the heap: the write's stack holds a configuration and a table after it.
    fn parse_table(&self, text: &[u8]) -> Result<KVec<DomainConfig<F::Addr>>> {
        let net = self.state.net.get();
        let mut table = KVec::with_capacity(MAX_DOMAINS, GFP_KERNEL)?;
        for entry in table_entries(text) {
            let entry = entry.map_err(|e| self.refuse(text, e.reason()))?;
            let refused = |why: &str| {
                if crate::ffi::net::net_ratelimit() {
                    pr_warn!(
                        "{}.ip_domain_table: refusing entry {}{}: {}\n",
                        F::SYSCTL,
                        shown(entry.addr),
                        shown(entry.mask),
                        why
                    );
                }
                EINVAL
            };
            let mut slot = DomainConfig::EMPTY;
            let len = F::parse_mask(entry.mask).map_err(|e| refused(reason(e)))?;
            let addr = F::parse_addr(entry.addr).map_err(|e| refused(reason(e)))?;
            slot.set_prefix_len(len).map_err(|e| refused(reason(e)))?;
            slot.set_net_addr(addr).map_err(|e| refused(reason(e)))?;
            if let Some(router) = entry.router {
                let router = F::parse_router(net, router).map_err(|e| {
                    if e == ENODEV {
                        refused("no such interface");
                        e
                    } else {
                        refused("not a router address (link-local needs %interface)")
                    }
                })?;
                slot.set_def_router(router);
            }
            table.push(slot, GFP_KERNEL)?;
        }
        if has_duplicate(&table) {
            return Err(self.refuse(text, TableError::Duplicate.reason()));
        }
        Ok(table)
    }
}

impl<F: Family> FamilyState<F> {
    /// Makes exactly the nodes `ip_domain.0` .. `ip_domain.(count-1)` exist; lowering the
    /// count forgets the removed domains. On error nothing changes.
    pub(super) fn set_count(self: &Arc<Self>, count: usize) -> Result {
        if count > MAX_DOMAINS {
            return Err(EINVAL);
        }
        let mut nodes = self.nodes.lock();
        let current = nodes.len();
        if count > current {
            self.grow_nodes(&mut nodes, count)?;
            self.config.lock().count = count;
        } else if count < current {
            self.update(|config| {
                config.domains[count..].fill(DomainConfig::EMPTY);
                config.paths[count..].fill(PathAttrs::UNKNOWN);
                config.count = count;
                Ok(())
            })?;
            for index in count..MAX_DOMAINS {
                self.counters.reset(index);
            }
            // Removing a node waits for its handlers, which take `config` only.
            nodes.truncate(count);
        }
        Ok(())
    }

    /// Replaces the whole table with `table` in one published change: the nodes
    /// `ip_domain.<n>` then exist for exactly its entries. A network that stays in the table
    /// keeps its path attributes, and its counters if it keeps its index. On error nothing
    /// changes.
    pub(super) fn set_table(self: &Arc<Self>, table: &[DomainConfig<F::Addr>]) -> Result {
        let count = table.len();
        if count > MAX_DOMAINS {
            return Err(EINVAL);
        }
        let mut nodes = self.nodes.lock();
        let current = nodes.len();
        if count > current {
            self.grow_nodes(&mut nodes, count)?;
        }
        let mut changed = [false; MAX_DOMAINS];
        let published = self.update(|config| {
            // The path attributes describe the provider's path: they follow the network to
            // its new index. Counters are per index: they restart where it moved.
            let old_paths = config.paths;
            let mut was = [None; MAX_DOMAINS];
            for (index, was) in was.iter_mut().enumerate() {
                *was = table.get(index).and_then(|next| {
                    config.domains[..config.count]
                        .iter()
                        .position(|d| same_network(d, next))
                });
            }
            for (index, changed) in changed.iter_mut().enumerate() {
                config.domains[index] = table.get(index).copied().unwrap_or(DomainConfig::EMPTY);
                config.paths[index] = was[index].map_or(PathAttrs::UNKNOWN, |at| old_paths[at]);
                *changed = was[index] != Some(index);
            }
            config.count = count;
            Ok(())
        });
        if let Err(e) = published {
            // The new nodes go again: nothing changed.
            nodes.truncate(current);
            return Err(e);
        }
        for (index, changed) in changed.iter().enumerate() {
            if *changed {
                self.counters.reset(index);
            }
        }
        // Removing a node waits for its handlers, which take `config` only.
        nodes.truncate(count);
        Ok(())
    }

    /// Registers the nodes `nodes.len()..count` and appends them. Every new node is
    /// registered before any becomes usable; on error the ones registered so far are dropped
    /// (unregistered) with `added` and `nodes` is as it was.
    fn grow_nodes(
        self: &Arc<Self>,
        nodes: &mut KVec<NetSysctlText<DomainKnob<F>>>,
        count: usize,
    ) -> Result {
        let current = nodes.len();
        let mut added = KVec::with_capacity(count.saturating_sub(current), GFP_KERNEL)?;
        for index in current..count {
            added.push(self.register_node(index)?, GFP_KERNEL)?;
        }
        nodes.reserve(added.len(), GFP_KERNEL)?;
        for node in added {
            nodes.push(node, GFP_KERNEL)?;
        }
        Ok(())
    }

    pub(super) fn register_node(
        self: &Arc<Self>,
        index: usize,
    ) -> Result<NetSysctlText<DomainKnob<F>>> {
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
}
