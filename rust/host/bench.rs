// SPDX-License-Identifier: GPL-2.0

//! The per-packet decision of source-domain routing timed on this machine's own CPU: the
//! VM of `make bench` runs under TCG, where one native nanosecond costs tens of emulated
//! ones and run-to-run noise hides a few percent, so this is the figure on real hardware
//! for the part of the hook that grows with the table (the rest is one netfilter call,
//! an RCU read and, for a rerouted packet, the cached route).
//!
//! Built only with the feature `bench`; `make bench` runs it:
//! `cargo test --release --features bench --manifest-path rust/host/Cargo.toml -- --nocapture --test-threads=1 decision_cost`

use std::{
    hint::black_box,
    println,
    time::Instant,
    vec::Vec, //
};

use crate::logic::{
    domain::{
        DomainConfig,
        DomainTable, //
    },
    prefix::Bits,
};

/// Decisions per timed run, and runs (the median is reported).
const PACKETS: usize = 4096;
const ROUNDS: usize = 200;
const RUNS: usize = 7;

/// `n` domains of the same prefix length (the worst case: no shorter prefix ends a scan
/// early), domain `k` holding `base(k)`.
fn table<B: Bits>(n: usize, prefix: impl Fn(usize) -> (B, u8, B)) -> DomainTable<B> {
    let configs: Vec<DomainConfig<B>> = (0..n)
        .map(|k| {
            let (addr, len, router) = prefix(k);
            DomainConfig::with(addr, len, router).unwrap()
        })
        .collect();
    DomainTable::new(&configs)
}

/// Median nanoseconds per call of `decide` over `packets`, less the loop's own cost.
fn time<B: Bits>(packets: &[(B, B)], decide: impl Fn(B, B) -> u8) -> f64 {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let mut sum = 0u32;
        for _ in 0..ROUNDS {
            for &(src, dst) in packets {
                sum = sum.wrapping_add(u32::from(decide(black_box(src), black_box(dst))));
            }
        }
        black_box(sum);
        runs.push(start.elapsed().as_nanos() as f64 / (ROUNDS * packets.len()) as f64);
    }
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[RUNS / 2]
}

fn code<B: Bits>(route: crate::logic::domain::Route<B>) -> u8 {
    use crate::logic::domain::Route;
    match route {
        Route::Usual => 0,
        Route::ViaRouter { index, .. } => 1 + index,
        Route::Confined { index } => 100 + index,
    }
}

/// Times one family: `inside(k, r)` is an address in domain `k`, `outside(r)` one in none.
fn family<B: Bits>(
    name: &str,
    prefix: impl Fn(usize) -> (B, u8, B) + Copy,
    inside: impl Fn(usize, u64) -> B,
    outside: impl Fn(u64) -> B,
) {
    // The same packets on every run.
    let mut next = crate::logic::xorshift(0x5eed);
    let empty = |_: B, _: B| 0u8;
    for n in [1usize, 16] {
        let t = table(n, prefix);
        // Inside: between the domains (usual routing). Rerouted: from a domain to the
        // outside. Both spread over every domain, so the scans average over the table.
        let inside_pkts: Vec<(B, B)> = (0..PACKETS)
            .map(|i| {
                let r = next();
                (inside(i % n, r), inside((i / n) % n, r >> 16))
            })
            .collect();
        let rerouted_pkts: Vec<(B, B)> = (0..PACKETS)
            .map(|i| {
                let r = next();
                (inside(i % n, r), outside(r >> 8))
            })
            .collect();
        let overhead = time(&inside_pkts, empty);
        let inside_ns = time(&inside_pkts, |s, d| code(t.route(s, d))) - overhead;
        let rerouted_ns = time(&rerouted_pkts, |s, d| code(t.route(s, d))) - overhead;
        println!(
            "decision {name} domains {n} inside_ns {inside_ns:.1} rerouted_ns {rerouted_ns:.1}"
        );
    }
}

#[test]
fn decision_cost() {
    // IPv4: 10.k.0.0/16 via 10.k.0.1; outside: 100.64.0.0/10.
    family::<u32>(
        "ipv4",
        |k| {
            (
                0x0a00_0000 | (k as u32) << 16,
                16,
                0x0a00_0001 | (k as u32) << 16,
            )
        },
        |k, r| 0x0a00_0000 | (k as u32) << 16 | (r as u32 & 0xffff),
        |r| 0x6440_0000 | (r as u32 & 0x003f_ffff),
    );
    // IPv6: 2001:db8:k::/48 via 2001:db8:k::1; outside: 2001:db8:ff00::/40.
    let site = |k: usize| 0x2001_0db8_u128 << 96 | (k as u128) << 80;
    family::<u128>(
        "ipv6",
        |k| (site(k), 48, site(k) | 1),
        |k, r| site(k) | u128::from(r),
        |r| (0x2001_0db8_ff_u128 << 88) | u128::from(r),
    );
}
