// SPDX-License-Identifier: GPL-2.0

//! Route lists carried by the module (issue 19): a connection registered with its keys
//! (`SITEMH_SO_SEQPARAM`) and without routes (`SITEMH_SO_LFROUTES`) tells the peer this
//! end's addresses in the site's domains, sealed with the connection's keys (code 10,
//! over the pair in use, repeated at doubling intervals until a code 11 answers with the
//! peer's addresses); its routes are the two lists crossed, its own pair first. The lists
//! go again whenever this end's addresses change. A peer whose application set routes
//! answers with the local addresses of those and keeps them.
//!
//! This end's list: the connection's own address first, then the host's other addresses
//! in domains of the same kind (domains with a router for an address in one, private
//! domains for an address in a private one), at most `LIST_MAX`.

#![forbid(unsafe_code)]

use core::ops::Range;

use super::{exchange::earliest, *};

/// One of the namespace's addresses in a domain, and whether the domain is private.
pub(super) type InDomain<A> = (A, bool);

/// This end's list for a connection from `own`: `own` first, then the addresses of
/// `in_domains` of its domain's kind (with a router when `own` is in no domain).
pub(super) fn own_side<A: WireAddr>(own: A, in_domains: &[InDomain<A>]) -> AddrList<A> {
    let private = in_domains
        .iter()
        .find(|&&(addr, _)| addr == own)
        .is_some_and(|&(_, private)| private);
    let same_kind = in_domains
        .iter()
        .filter(|&&(_, p)| p == private)
        .map(|&(addr, _)| addr);
    AddrList::of(Iterator::chain(core::iter::once(own), same_kind))
}

impl<F: SwitchFamily> Switchover<F> {
    /// The namespace's addresses of this family in its domains, when some connection's
    /// lists are carried (read once per run of the work item, outside any lock); `None`
    /// otherwise or if they cannot be read (the lists then stay as they are).
    pub(super) fn addrs_in_domains(&self) -> Option<KVec<InDomain<F::Addr>>> {
        if !self.carries_lists.load(Ordering::Relaxed) {
            return None;
        }
        let local = inet::local_addrs(self.net.get(), F::AF).ok()?;
        let mut out = KVec::with_capacity(local.len(), GFP_KERNEL).ok()?;
        let table = {
            let guard = rcu::read_lock();
            self.domains.snapshot(&guard).table
        };
        for (glue, _) in local.iter() {
            let Some(addr) = F::Addr::read(glue) else {
                continue;
            };
            if let Some(domain) = table.domain_of(addr) {
                // Room for every address was made above.
                out.push_within_capacity((addr, domain.router.is_none()))
                    .ok()?;
            }
        }
        Some(out)
    }

    /// Under the lock: for the connections in the slots `range` whose lists the module
    /// carries, works out this end's list from `in_domains` (the routes follow a
    /// change; `None`: the addresses could not be read, the lists stay), and sends it
    /// when due. Returns when the next transmission falls due.
    pub(super) fn carry_lists(
        &self,
        conns: &mut Table<Tracked<F::Addr>>,
        range: Range<usize>,
        now: u64,
        in_domains: Option<&[InDomain<F::Addr>]>,
        chores: &mut Chores<F::Addr>,
    ) -> Option<u64> {
        let mut next: Option<u64> = None;
        for at in range {
            let Some(t) = conns.get_mut(at) else {
                continue;
            };
            let Some(mut carried) = t.carried else {
                continue;
            };
            if t.sock.closed() {
                continue;
            }
            let changed = in_domains
                .is_some_and(|addrs| carried.set_own(own_side(t.conn.tuple.laddr, addrs)));
            if changed {
                let routes = t.conn.routes_of(&carried);
                // Not adopted only if a pair in use would be lost: at the next change.
                let _ = t.conn.adopt_routes(routes);
            }
            if carried.wants_sending() {
                if t.list_due_ms <= now {
                    let (src, dst) = t.conn.current();
                    let list = RouteList {
                        code: CODE_ROUTE_LIST,
                        stamp: 0,
                        addrs: carried.own,
                    };
                    let pcb = t.conn.wire_pcb();
                    let job =
                        Self::seal_job(t, CODE_ROUTE_LIST, &pcb, Plaintext::List(list), src, dst);
                    if job.is_some_and(|job| chores.send(job)) {
                        self.counters.lists_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    t.list_due_ms = now + carried.sent_once();
                }
                next = earliest(next, Some(t.list_due_ms));
            }
            t.carried = Some(carried);
        }
        next
    }

    /// Under the lock: the peer's route list (`list`, code 10 or 11 as `sealed` says)
    /// for `t`, opened and checked. A carried connection takes the peer's addresses (its
    /// routes follow); a list (code 10) is answered with this end's addresses: the
    /// carried list, or the local addresses of the application's routes.
    pub(super) fn apply_list(
        &self,
        t: &mut Tracked<F::Addr>,
        sealed: &Sealed<F::Addr>,
        list: &RouteList<F::Addr>,
        chores: &mut Chores<F::Addr>,
    ) {
        self.counters.lists_heard.fetch_add(1, Ordering::Relaxed);
        if let Some(mut carried) = t.carried {
            carried.peer = list.addrs;
            if sealed.code == CODE_ROUTE_LIST_ACK {
                carried.unacked = false;
            }
            let routes = t.conn.routes_of(&carried);
            let _ = t.conn.adopt_routes(routes);
            t.carried = Some(carried);
        }
        if sealed.code != CODE_ROUTE_LIST {
            return;
        }
        let ours = match t.carried {
            Some(carried) if !carried.own.as_slice().is_empty() => carried.own,
            _ => AddrList::of(Iterator::chain(
                core::iter::once(t.conn.tuple.laddr),
                t.conn.routes.as_slice().iter().map(|&(local, _)| local),
            )),
        };
        let answer = RouteList {
            code: CODE_ROUTE_LIST_ACK,
            stamp: 0,
            addrs: ours,
        };
        let (src, dst) = t.conn.current();
        // Named as the list named it, as answers are.
        let job = Self::seal_job(
            t,
            CODE_ROUTE_LIST_ACK,
            &sealed.pcb,
            Plaintext::List(answer),
            src,
            dst,
        );
        if job.is_some_and(|job| chores.send(job)) {
            self.counters.lists_sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}
