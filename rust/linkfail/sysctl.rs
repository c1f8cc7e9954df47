// SPDX-License-Identifier: GPL-2.0

//! The CE role's knobs, `net.ipv4.sitemh_ce.*`.

#![forbid(unsafe_code)]

use super::*;

/// The knobs of `net.ipv4.sitemh_ce.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CeField {
    Uplink,
    PeAddr,
    Lan,
    Peers,
    Peers6,
    KeepaliveMs,
    KeepaliveMisses,
    PeProbeMs,
    Relay,
    RepeatMs,
    Repeats,
    RefreshMs,
    Key,
}

/// One knob of the CE role.
pub(crate) struct CeKnob {
    state: Arc<LinkFail>,
    field: CeField,
}

impl CeKnob {
    /// Registers `net.ipv4.sitemh_ce.{uplink,pe_addr,lan,peers,peers6,keepalive_ms,
    /// keepalive_misses,pe_probe_ms,relay,repeat_ms,repeats,refresh_ms,key}`.
    pub(crate) fn register(net: &Net, state: &Arc<LinkFail>) -> Result<NetSysctlText<CeKnob>> {
        let mut knobs = KVec::with_capacity(13, GFP_KERNEL)?;
        for (name, field) in [
            (c"uplink", CeField::Uplink),
            (c"pe_addr", CeField::PeAddr),
            (c"lan", CeField::Lan),
            (c"peers", CeField::Peers),
            (c"peers6", CeField::Peers6),
            (c"keepalive_ms", CeField::KeepaliveMs),
            (c"keepalive_misses", CeField::KeepaliveMisses),
            (c"pe_probe_ms", CeField::PeProbeMs),
            (c"relay", CeField::Relay),
            (c"repeat_ms", CeField::RepeatMs),
            (c"repeats", CeField::Repeats),
            (c"refresh_ms", CeField::RefreshMs),
            (c"key", CeField::Key),
        ] {
            knobs.push(
                (
                    name,
                    CeKnob {
                        state: state.clone(),
                        field,
                    },
                ),
                GFP_KERNEL,
            )?;
        }
        NetSysctlText::register(net, c"net/ipv4/sitemh_ce", knobs)
    }

    fn refuse(&self, text: &[u8], why: &str) -> Error {
        if net_ratelimit() {
            pr_warn!(
                "net.ipv4.sitemh_ce: refusing {:?}: {}\n",
                core::str::from_utf8(text).unwrap_or("<not UTF-8>"),
                why
            );
        }
        EINVAL
    }
}

pub(super) fn write_ifname(out: &mut FixedBuf<'_>, net: &Net, ifindex: i32) -> core::fmt::Result {
    netdev::with_ifname(net, ifindex, |name| {
        let name = name.and_then(|n| core::str::from_utf8(n).ok());
        out.write_str(name.unwrap_or("?"))
    })
}

/// The names of the interfaces `ifindexes` (0: none) separated by spaces.
pub(super) fn write_ifnames(
    out: &mut FixedBuf<'_>,
    net: &Net,
    ifindexes: impl IntoIterator<Item = i32>,
) -> core::fmt::Result {
    for (i, ifindex) in ifindexes.into_iter().filter(|&i| i != 0).enumerate() {
        if i > 0 {
            out.write_str(" ")?;
        }
        write_ifname(out, net, ifindex)?;
    }
    Ok(())
}

impl TextKnob for CeKnob {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let config = *self.state.config.lock();
        let net = self.state.net.get();
        let written = match self.field {
            CeField::Uplink if config.uplink == 0 => Ok(()),
            CeField::Uplink => write_ifname(out, net, config.uplink),
            // The IPv4 address (0.0.0.0 if none), then the IPv6 one if there is one; an
            // IPv6-only PE alone.
            CeField::PeAddr => match (config.pe, config.pe6) {
                (pe, 0) => write!(out, "{}", ipv4::Dotted(pe)),
                (0, pe6) => write!(out, "{}", ipv6::Canonical(pe6)),
                (pe, pe6) => write!(out, "{} {}", ipv4::Dotted(pe), ipv6::Canonical(pe6)),
            },
            CeField::Lan => write_ifnames(out, net, config.lan),
            CeField::Relay => {
                let relay = self.state.relay.iter().map(|i| i.load(Ordering::Relaxed));
                write_ifnames(out, net, relay)
            }
            CeField::Peers => {
                let mut result = Ok(());
                let peers = self.state.peers.iter().map(|p| p.load(Ordering::Relaxed));
                for (i, peer) in peers.filter(|&p| p != 0).enumerate() {
                    if i > 0 {
                        result = result.and_then(|()| out.write_str(" "));
                    }
                    result = result.and_then(|()| write!(out, "{}", ipv4::Dotted(peer)));
                }
                result
            }
            CeField::Peers6 => {
                let mut result = Ok(());
                // Under the mutex the writers hold: whole addresses.
                let peers6 = {
                    let _config = self.state.config.lock();
                    self.state.peers6.each_ref().map(AtomicAddr6::load)
                };
                for (i, peer) in peers6.iter().filter(|&&p| p != 0).enumerate() {
                    if i > 0 {
                        result = result.and_then(|()| out.write_str(" "));
                    }
                    result = result.and_then(|()| write!(out, "{}", ipv6::Canonical(*peer)));
                }
                result
            }
            CeField::KeepaliveMs => {
                write!(out, "{}", self.state.keepalive_ms.load(Ordering::Relaxed))
            }
            CeField::KeepaliveMisses => {
                write!(
                    out,
                    "{}",
                    self.state.keepalive_misses.load(Ordering::Relaxed)
                )
            }
            CeField::PeProbeMs => write!(out, "{}", self.state.pe_probe_ms.load(Ordering::Relaxed)),
            CeField::RepeatMs => write!(out, "{}", self.state.repeat_ms.load(Ordering::Relaxed)),
            CeField::Repeats => write!(out, "{}", self.state.repeats.load(Ordering::Relaxed)),
            CeField::RefreshMs => write!(out, "{}", self.state.refresh_ms.load(Ordering::Relaxed)),
            // Never the key itself.
            CeField::Key if self.state.site_key.lock().is_some() => write!(out, "set"),
            CeField::Key => Ok(()),
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        if !current_is_net_admin(self.state.net.get()) {
            return Err(EPERM);
        }
        match self.field {
            CeField::Uplink => self.store_uplink(text),
            CeField::PeAddr => self.store_pe(text),
            CeField::Lan => self.store_lan(text),
            CeField::Relay => {
                let relay = self.interfaces(text)?;
                let _config = self.state.config.lock();
                for (slot, ifindex) in self.state.relay.iter().zip(relay) {
                    slot.store(ifindex, Ordering::Relaxed);
                }
                Ok(())
            }
            CeField::Peers => self.store_peers4(text),
            CeField::Peers6 => {
                let peers6 = self.addresses(text, ipv6::parse_addr, "not an IPv6 address")?;
                self.store_peers(None, Some(peers6))
            }
            CeField::KeepaliveMs | CeField::KeepaliveMisses | CeField::PeProbeMs => {
                self.store_watching(text)
            }
            CeField::Key => self.store_key(text),
            CeField::RepeatMs | CeField::Repeats | CeField::RefreshMs => self.store_timing(text),
        }
    }
}

impl CeKnob {
    /// The interface named `name`.
    fn ifindex(&self, text: &[u8], name: &[u8]) -> Result<i32> {
        netdev::ifindex_by_name(self.state.net.get(), name).inspect_err(|_| {
            self.refuse(text, "no such interface");
        })
    }

    /// `lan` and `relay`: up to [`MAX_LAN`] interface names separated by spaces.
    fn interfaces(&self, text: &[u8]) -> Result<[i32; MAX_LAN]> {
        let mut list = [0i32; MAX_LAN];
        let names = text.split(|&c| c == b' ').filter(|n| !n.is_empty());
        for (n, name) in names.enumerate() {
            let slot = list
                .get_mut(n)
                .ok_or_else(|| self.refuse(text, "more than 4 interfaces"))?;
            *slot = self.ifindex(text, name)?;
        }
        Ok(list)
    }

    /// `peers` and `peers6`: up to [`MAX_PEERS`] addresses separated by spaces.
    fn addresses<A: Copy + Default, E>(
        &self,
        text: &[u8],
        parse: impl Fn(&[u8]) -> core::result::Result<A, E>,
        not_one: &str,
    ) -> Result<[A; MAX_PEERS]> {
        let mut list = [A::default(); MAX_PEERS];
        let words = text.split(|&c| c == b' ').filter(|w| !w.is_empty());
        for (n, word) in words.enumerate() {
            let slot = list
                .get_mut(n)
                .ok_or_else(|| self.refuse(text, "more than 4 peers"))?;
            *slot = parse(word).map_err(|_| self.refuse(text, not_one))?;
        }
        Ok(list)
    }

    fn store_uplink(&self, text: &[u8]) -> Result {
        let uplink = if text.is_empty() {
            0
        } else {
            self.ifindex(text, text)?
        };
        let mut config = self.state.config.lock();
        config.uplink = uplink;
        self.state.forget_announcements(true);
        // A newly named uplink starts from "usable": its next failure is news.
        self.state.uplink_usable.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn store_lan(&self, text: &[u8]) -> Result {
        let lan = self.interfaces(text)?;
        let peers = (0..MAX_PEERS).any(|i| {
            self.state.peers[i].load(Ordering::Relaxed) != 0 || self.state.peers6[i].load() != 0
        });
        self.state
            .hooks
            .want(HOOKS_BIT, peers || lan.iter().any(|&i| i != 0))?;
        self.state.config.lock().lan = lan;
        Ok(())
    }

    /// `pe_addr`: an IPv4 address, an IPv6 address, or one of each (separated by a
    /// space); the write replaces both.
    fn store_pe(&self, text: &[u8]) -> Result {
        let (mut pe, mut pe6) = (None, None);
        for word in text.split(|&c| c == b' ').filter(|w| !w.is_empty()) {
            if let Ok(addr) = ipv4::parse_addr(word) {
                if pe.replace(addr).is_some() {
                    return Err(self.refuse(text, "two IPv4 addresses"));
                }
            } else if let Ok(addr) = ipv6::parse_addr(word) {
                if pe6.replace(addr).is_some() {
                    return Err(self.refuse(text, "two IPv6 addresses"));
                }
            } else {
                return Err(self.refuse(text, "not an IPv4 or IPv6 address"));
            }
        }
        if pe.is_none() && pe6.is_none() {
            return Err(self.refuse(text, "no address"));
        }
        let mut config = self.state.config.lock();
        config.pe = pe.unwrap_or(0);
        config.pe6 = pe6.unwrap_or(0);
        self.state.forget_announcements(true);
        Ok(())
    }

    fn store_peers4(&self, text: &[u8]) -> Result {
        let peers = self.addresses(text, ipv4::parse_addr, "not an IPv4 address")?;
        self.store_peers(Some(peers), None)
    }

    /// `peers` (IPv4) or `peers6`: the peer in slot `i` is watched through either or both.
    fn store_peers(
        &self,
        peers: Option<[u32; MAX_PEERS]>,
        peers6: Option<[u128; MAX_PEERS]>,
    ) -> Result {
        let lan = self.state.config.lock().lan.iter().any(|&i| i != 0);
        let any = (0..MAX_PEERS).any(|i| {
            let v4 = peers.map_or_else(|| self.state.peers[i].load(Ordering::Relaxed), |p| p[i]);
            let v6 = peers6.map_or_else(|| self.state.peers6[i].load(), |p| p[i]);
            v4 != 0 || v6 != 0
        });
        self.state.hooks.want(HOOKS_BIT, lan || any)?;
        // No peer is watched before it was heard once (peers start at their own pace),
        // none is failed. Under the configuration's mutex: its holders see whole IPv6
        // addresses.
        let _config = self.state.config.lock();
        for i in 0..MAX_PEERS {
            self.state.heard_ms[i].store(0, Ordering::Relaxed);
            if let Some(peers) = peers {
                self.state.peers[i].store(peers[i], Ordering::Relaxed);
            }
            if let Some(peers6) = peers6 {
                self.state.peers6[i].store(peers6[i]);
            }
        }
        self.state.peer_down.store(0, Ordering::Relaxed);
        self.state.peer_back.store(0, Ordering::Relaxed);
        self.state.forget_announcements(false);
        self.state.arm(0);
        Ok(())
    }

    /// `keepalive_ms`, `keepalive_misses` and `pe_probe_ms`.
    fn store_watching(&self, text: &[u8]) -> Result {
        let (value, low, high) = match self.field {
            CeField::KeepaliveMs => (&self.state.keepalive_ms, 0, 60_000),
            CeField::PeProbeMs => (&self.state.pe_probe_ms, 0, 60_000),
            _ => (&self.state.keepalive_misses, 1, 100),
        };
        self.store_bounded(text, value, low..=high, false)?;
        // Probing changed: what it found no longer stands.
        if self.field == CeField::PeProbeMs {
            self.state.pe_missed.store(0, Ordering::Relaxed);
            if self.state.pe_silent.swap(false, Ordering::Relaxed)
                && self.state.uplink_usable.load(Ordering::Relaxed)
            {
                let config = *self.state.config.lock();
                self.state.broadcast(&config, CODE_LINK_RESTORED, PE_SLOT);
            }
        }
        self.state.arm(0);
        Ok(())
    }

    fn store_key(&self, text: &[u8]) -> Result {
        let Ok(mut key) = parse_key(text) else {
            return Err(self.refuse(b"(not shown)", "not 64 hexadecimal digits, or empty"));
        };
        let mut old = core::mem::replace(&mut *self.state.site_key.lock(), key);
        if let Some(old) = old.as_mut() {
            wipe(old);
        }
        if let Some(key) = key.as_mut() {
            wipe(key);
        }
        Ok(())
    }

    /// `repeat_ms`, `repeats` and `refresh_ms`.
    fn store_timing(&self, text: &[u8]) -> Result {
        // Repetitions from 10 ms to a minute apart, at most 10 (the last one then 17 hours
        // after the first: beyond that, refreshes serve); refreshes from a second to an hour
        // apart. 0: none. (Shorter intervals would only load the LAN and this work item.)
        let (value, low, high) = match self.field {
            CeField::RepeatMs => (&self.state.repeat_ms, 10, 60_000),
            CeField::Repeats => (&self.state.repeats, 0, 10),
            _ => (&self.state.refresh_ms, 1000, 3_600_000),
        };
        self.store_bounded(text, value, low..=high, true)
    }

    /// Stores the decimal `text` into `value` if it is within `range` (or 0, when
    /// `zero_means_none`); refuses it otherwise, changing nothing.
    fn store_bounded(
        &self,
        text: &[u8],
        value: &AtomicU32,
        range: core::ops::RangeInclusive<u32>,
        zero_means_none: bool,
    ) -> Result {
        match parse_decimal(text) {
            Some(v) if range.contains(&v) || (zero_means_none && v == 0) => {
                value.store(v, Ordering::Relaxed);
                Ok(())
            }
            _ if zero_means_none => Err(self.refuse(text, "not 0 or a number in range")),
            _ => Err(self.refuse(text, "not a number in range")),
        }
    }
}
