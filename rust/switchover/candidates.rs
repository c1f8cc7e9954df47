// SPDX-License-Identifier: GPL-2.0

//! Which route a connection moves to (draft 2.1.2: "for best effort traffic route is
//! selected by sending echo messages and calculating round trip delay; for the rest it
//! follows the approach stated in section 2.1.1"). Once per change (a notice, a mark
//! lapsing), before any proposal, the work item echo-probes the candidate routes of the
//! connections that must move, each distinct pair once and at most [`MAX_MEASURED`] of
//! them, through the namespace's [`EchoProbes`](crate::select::EchoProbes) (cached and
//! rate-limited with selection's), waiting up to `probe_ms` (the answers end the wait),
//! and notes what selection knows of each local address's provider. Proposals then take
//! the best candidate by [`candidate_key`]: measured round trip for best effort, section
//! 2.1.1's latency ranking for low-latency traffic (the socket's TOS).

#![forbid(unsafe_code)]

use super::*;
use crate::logic::{
    select::{
        PathAttrs,
        Service, //
    },
    switchover::candidate_key,
};

/// Most distinct pairs probed per change: four providers at each end.
pub(super) const MAX_MEASURED: usize = 16;

/// What is known of one candidate pair.
#[derive(Clone, Copy)]
pub(super) struct PairFacts<A> {
    local: A,
    peer: A,
    /// Measured round trip, µs (0: not measured, or no answer).
    rtt_us: u32,
    /// The local address's provider as configured (section 2.1.1's attributes).
    attrs: PathAttrs,
}

/// The candidates measured for the last change: (notice time, domains down) and facts.
pub(super) struct Measured<A> {
    for_changes: (u64, u32),
    facts: KVec<PairFacts<A>>,
}

impl<A> Measured<A> {
    pub(super) fn new() -> Self {
        Self {
            for_changes: (0, 0),
            facts: KVec::new(),
        }
    }
}

/// The order of a connection's candidates: the smaller first.
pub(super) type CandidateKey = (u64, u64);

/// How `facts` rank the pair (`local`, `peer`) for `service`; unknown pairs last.
pub(super) fn key_of<A: PartialEq>(
    facts: &[PairFacts<A>],
    service: Service,
    local: A,
    peer: A,
) -> CandidateKey {
    match facts.iter().find(|f| f.local == local && f.peer == peer) {
        Some(f) => candidate_key(service, f.rtt_us, &f.attrs),
        None => candidate_key(service, 0, &PathAttrs::UNKNOWN),
    }
}

impl<F: SwitchFamily> Switchover<F> {
    /// Measures the candidates of the connections that must move, once per change; sleeps
    /// up to `probe_ms`. Returns the facts for the proposals of this run (a copy: they are
    /// read under the table's lock).
    pub(super) fn measure_candidates(&self) -> KVec<PairFacts<F::Addr>> {
        let changes = (
            self.last_notice_ms.load(Ordering::Relaxed),
            F::down_mask(&self.linkfail),
        );
        let known = self.measured.lock().for_changes == changes;
        if !known {
            // Without memory to measure, proposals keep the application's order.
            let facts = self.candidate_facts().unwrap_or_default();
            let mut measured = self.measured.lock();
            measured.for_changes = changes;
            measured.facts = facts;
        }
        let measured = self.measured.lock();
        let mut copy = KVec::with_capacity(measured.facts.len(), GFP_KERNEL).unwrap_or_default();
        for facts in measured.facts.iter() {
            if copy.push(*facts, GFP_KERNEL).is_err() {
                break;
            }
        }
        copy
    }

    /// The distinct candidate pairs of the connections whose pair in use is down, with
    /// their round trips (probed if there is a choice and `probe_ms` allows) and their
    /// providers' attributes. Not inlined: its buffers stay off the work item's frame.
    #[inline(never)]
    fn candidate_facts(&self) -> Result<KVec<PairFacts<F::Addr>>> {
        let mut pairs: KVec<(F::Addr, F::Addr)> = KVec::with_capacity(MAX_MEASURED, GFP_KERNEL)?;
        let is_down = self.down_view();
        let mut start = 0;
        loop {
            let slots = {
                let conns = self.conns.lock();
                for at in start..(start + BATCH).min(conns.slots()) {
                    let Some(t) = conns.get(at) else {
                        continue;
                    };
                    let current = t.conn.current();
                    if t.conn.stat != STAT_ALTER || t.keys.is_none() || !is_down(current.0) {
                        continue;
                    }
                    for &pair in t.conn.routes.as_slice() {
                        if pair == current || is_down(pair.0) || pairs.contains(&pair) {
                            continue;
                        }
                        // Room made before the lock: never allocates here.
                        if pairs.push_within_capacity(pair).is_err() {
                            break;
                        }
                    }
                }
                conns.slots()
            };
            start += BATCH;
            if start >= slots || pairs.len() == MAX_MEASURED {
                break;
            }
            cond_resched();
        }
        let mut rtt_us = KVec::from_elem(0u32, pairs.len(), GFP_KERNEL)?;
        let wait_ms = self.probe_ms.load(Ordering::Relaxed);
        if wait_ms > 0 && pairs.len() >= 2 {
            let mut src = KVec::with_capacity(pairs.len(), GFP_KERNEL)?;
            let mut dst = KVec::with_capacity(pairs.len(), GFP_KERNEL)?;
            for &(local, peer) in pairs.iter() {
                let (mut s, mut d) = ([0u8; 16], [0u8; 16]);
                local.write(&mut s);
                peer.write(&mut d);
                src.push(s, GFP_KERNEL)?;
                dst.push(d, GFP_KERNEL)?;
            }
            // Pairs the rate limit or the network leaves unmeasured rank after the
            // measured ones; the proposal goes ahead either way.
            let _ = self.linkfail.probes().measure(
                self.net.get(),
                F::AF,
                &src,
                &dst,
                wait_ms,
                &mut rtt_us,
            );
        }
        let mut facts = KVec::with_capacity(pairs.len(), GFP_KERNEL)?;
        for (&(local, peer), &rtt_us) in pairs.iter().zip(rtt_us.iter()) {
            let attrs = {
                let guard = rcu::read_lock();
                let snapshot = self.domains.snapshot(&guard);
                snapshot
                    .table
                    .domain_of(local)
                    .and_then(|d| snapshot.paths.get(usize::from(d.index)).copied())
                    .unwrap_or(PathAttrs::UNKNOWN)
            };
            facts.push(
                PairFacts {
                    local,
                    peer,
                    rtt_us,
                    attrs,
                },
                GFP_KERNEL,
            )?;
        }
        Ok(facts)
    }
}
