// SPDX-License-Identifier: GPL-2.0

//! Link-failure notices (draft 2.1.2), the CE router's side and the receiving host's side.
//!
//! A CE router is configured per namespace under `net.ipv4.sitemh_ce.`: `uplink` (the
//! CE-PE interface), `pe_addr` (the PE's address, reported in the notice) and `lan` (the
//! interfaces to broadcast on, space-separated). When the uplink goes down or loses its
//! carrier the CE broadcasts ICMP type 41 code 1 (`ICMP_LINKFAILURE_CE_PE_LINK`) with the PE
//! address in the gateway field on every LAN interface; when it works again, code 5 (sitemh's
//! `ICMP_LINKFAILURE_LINK_RESTORED`: the draft is silent on recovery).
//!
//! Every host and router listens. A notice counts only if it arrived with TTL 255 (so it
//! was sent on the link, like neighbour discovery) from the default router of one of the
//! host's IPv4 domains; then that domain is marked down (code 1, 2) or up again (code 5),
//! which address selection uses (its pairs rank last). Anything else is refused and
//! counted. Notices are not authenticated, so they change nothing else: moving live
//! connections takes the authenticated exchange.

#![forbid(unsafe_code)]

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
    new_mutex,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        Arc,
        Mutex, //
    },
};

use crate::{
    domains::{
        FamilyState,
        V4, //
    },
    ffi::{
        inet,
        net::{
            current_is_net_admin,
            net_ratelimit,
            Net,
            NetRef, //
        },
        netdev::{
            self,
            DeviceChange, //
        },
        netfilter::{
            Packet,
            Verdict, //
        },
        sysctl::{
            NetSysctlText,
            TextKnob, //
        },
    },
    logic::{
        ipv4,
        linkfail::{
            parse_notice,
            write_notice,
            Notice,
            CODE_ALT_ROUTE_ESTABLISHED,
            CODE_CE_FAILURE,
            CODE_CE_PE_LINK,
            CODE_LINK_RESTORED,
            CODE_SET_ALT_ROUTE,
            NOTICE_LEN, //
        },
        text::FixedBuf,
    },
};

/// `addr` as dotted text in `buf`, for log lines.
fn dotted(addr: u32, buf: &mut [u8; 16]) -> &str {
    let mut out = FixedBuf::new(buf);
    let _ = write!(out, "{}", ipv4::Dotted(addr));
    let len = out.as_bytes().len();
    core::str::from_utf8(&buf[..len]).unwrap_or("?")
}

/// IPPROTO_ICMP.
const IPPROTO_ICMP: u8 = 1;
/// Octets read of a type 41 message: an IPv4 exchange message and one more (to see it is
/// too long).
const EXCHANGE_MAX: usize = crate::logic::linkfail::Layout::<u32>::LEN + 1;
/// Most LAN interfaces a CE broadcasts on.
const MAX_LAN: usize = 4;

/// The CE role's configuration.
#[derive(Clone, Copy, Default)]
struct CeConfig {
    /// The CE-PE interface; 0: not a CE.
    uplink: i32,
    /// The PE's address.
    pe: u32,
    /// The LAN interfaces.
    lan: [i32; MAX_LAN],
}

/// Link-failure state of one namespace.
#[pin_data]
pub(crate) struct LinkFail {
    #[pin]
    config: Mutex<CeConfig>,
    /// Whether the uplink was usable at the last event (starts usable).
    uplink_usable: AtomicBool,
    /// IPv4 domains marked down by a notice, bit per domain number.
    down: AtomicU32,
    /// Notices broadcast.
    sent: AtomicU64,
    /// Notices accepted.
    received: AtomicU64,
    /// Notices refused (malformed, wrong TTL, not from a default router).
    refused: AtomicU64,
    net: NetRef,
}

impl LinkFail {
    /// The state of `net`.
    pub(crate) fn new(net: &Net) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                config <- new_mutex!(CeConfig::default()),
                uplink_usable: AtomicBool::new(true),
                down: AtomicU32::new(0),
                sent: AtomicU64::new(0),
                received: AtomicU64::new(0),
                refused: AtomicU64::new(0),
                net: NetRef::new(net),
            }),
            GFP_KERNEL,
        )
    }

    /// IPv4 domains that notices marked down, bit per domain number.
    pub(crate) fn down_mask(&self) -> u32 {
        self.down.load(Ordering::Relaxed)
    }

    /// The CE role: a device event. Broadcasts a notice when the uplink's usability flips.
    pub(crate) fn device_changed(&self, change: DeviceChange) {
        let config = *self.config.lock();
        if config.uplink == 0 || change.ifindex != config.uplink {
            return;
        }
        if self.uplink_usable.swap(change.usable, Ordering::Relaxed) == change.usable {
            return;
        }
        let code = if change.usable {
            CODE_LINK_RESTORED
        } else {
            CODE_CE_PE_LINK
        };
        self.broadcast(&config, code, config.pe);
    }

    fn broadcast(&self, config: &CeConfig, code: u8, gateway: u32) {
        let mut message = [0u8; NOTICE_LEN];
        write_notice(crate::icmp_type(), &Notice { code, gateway }, &mut message);
        for &ifindex in config.lan.iter().filter(|&&i| i != 0) {
            match inet::send_icmp4_broadcast(self.net.get(), ifindex, &message) {
                Ok(()) => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if net_ratelimit() => {
                    pr_warn!(
                        "CE: could not broadcast a link notice on ifindex {}: {:?}\n",
                        ifindex,
                        e
                    );
                }
                Err(_) => {}
            }
        }
        if net_ratelimit() {
            let what = if code == CODE_LINK_RESTORED {
                "restored"
            } else {
                "failed"
            };
            pr_info!(
                "CE: uplink {}: broadcast ICMP {} code {} (PE {})\n",
                what,
                crate::icmp_type(),
                code,
                dotted(gateway, &mut [0; 16])
            );
        }
    }

    /// The host role: an IPv4 packet for this host. Consumes valid and invalid notices,
    /// calling `noticed` when one changed which domains are down; hands messages of the
    /// authenticated exchange (codes 3 and 4) to `exchange` (source, message); everything
    /// else passes.
    pub(crate) fn receive(
        &self,
        domains: &FamilyState<V4>,
        packet: &Packet<'_>,
        noticed: impl FnOnce(),
        exchange: impl FnOnce(u32, &[u8]) -> Verdict,
    ) -> Verdict {
        let mut message = [0u8; EXCHANGE_MAX];
        let Some(transport) = packet.ipv4_transport(IPPROTO_ICMP, &mut message) else {
            return Verdict::Accept;
        };
        if transport.proto != IPPROTO_ICMP || message[0] != crate::icmp_type() {
            return Verdict::Accept;
        }
        if transport.looped {
            // Our own broadcast, looped back.
            return Verdict::Drop(EINVAL);
        }
        let (src, _) = packet.ipv4_addrs();
        let length = transport.len.min(message.len());
        if matches!(message[1], CODE_SET_ALT_ROUTE | CODE_ALT_ROUTE_ESTABLISHED) {
            return exchange(src, &message[..length]);
        }
        let notice = match parse_notice(crate::icmp_type(), &message[..length]) {
            Ok(notice) if transport.ttl == 255 && transport.len == NOTICE_LEN => notice,
            _ => return self.refuse(src, "malformed, or not sent on the link (TTL != 255)"),
        };
        // The sender must be the default router of one of our domains.
        let mut matched = 0u32;
        let guard = kernel::sync::rcu::read_lock();
        for domain in domains.snapshot(&guard).table.domains() {
            if domain.router.is_some_and(|r| r.addr == src) {
                matched |= 1 << domain.index;
            }
        }
        drop(guard);
        if matched == 0 {
            return self.refuse(src, "not from a default router of our domains");
        }
        match notice.code {
            CODE_CE_PE_LINK | CODE_CE_FAILURE => self.down.fetch_or(matched, Ordering::Relaxed),
            _ => self.down.fetch_and(!matched, Ordering::Relaxed),
        };
        noticed();
        self.received.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            let now = if notice.code == CODE_LINK_RESTORED {
                "up"
            } else {
                "down"
            };
            pr_info!(
                "link notice from {}: code {} for {}; domains {:#x} now {}\n",
                dotted(src, &mut [0; 16]),
                notice.code,
                dotted(notice.gateway, &mut [0; 16]),
                matched,
                now
            );
        }
        Verdict::Drop(EINVAL)
    }

    fn refuse(&self, src: u32, why: &str) -> Verdict {
        self.refused.fetch_add(1, Ordering::Relaxed);
        if net_ratelimit() {
            pr_warn!(
                "refusing an ICMP {} from {}: {}\n",
                crate::icmp_type(),
                dotted(src, &mut [0; 16]),
                why
            );
        }
        Verdict::Drop(EINVAL)
    }

    /// The `/proc/net/sitemh` line.
    pub(crate) fn show(&self, m: &SeqFile) {
        seq_print!(
            m,
            "linkfail sent {} received {} refused {} down {:#x}\n",
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
            self.down.load(Ordering::Relaxed)
        );
    }
}

/// The knobs of `net.ipv4.sitemh_ce.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CeField {
    Uplink,
    PeAddr,
    Lan,
}

/// One knob of the CE role.
pub(crate) struct CeKnob {
    state: Arc<LinkFail>,
    field: CeField,
}

impl CeKnob {
    /// Registers `net.ipv4.sitemh_ce.{uplink,pe_addr,lan}`.
    pub(crate) fn register(net: &Net, state: &Arc<LinkFail>) -> Result<NetSysctlText<CeKnob>> {
        let mut knobs = KVec::with_capacity(3, GFP_KERNEL)?;
        for (name, field) in [
            (c"uplink", CeField::Uplink),
            (c"pe_addr", CeField::PeAddr),
            (c"lan", CeField::Lan),
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

fn write_ifname(out: &mut FixedBuf<'_>, net: &Net, ifindex: i32) -> core::fmt::Result {
    netdev::with_ifname(net, ifindex, |name| {
        let name = name.and_then(|n| core::str::from_utf8(n).ok());
        out.write_str(name.unwrap_or("?"))
    })
}

impl TextKnob for CeKnob {
    fn show(&self, out: &mut FixedBuf<'_>) -> Result {
        let config = *self.state.config.lock();
        let net = self.state.net.get();
        let written = match self.field {
            CeField::Uplink if config.uplink == 0 => Ok(()),
            CeField::Uplink => write_ifname(out, net, config.uplink),
            CeField::PeAddr => write!(out, "{}", ipv4::Dotted(config.pe)),
            CeField::Lan => {
                let mut result = Ok(());
                for (i, &ifindex) in config.lan.iter().filter(|&&i| i != 0).enumerate() {
                    if i > 0 {
                        result = result.and_then(|()| out.write_str(" "));
                    }
                    result = result.and_then(|()| write_ifname(out, net, ifindex));
                }
                result
            }
        };
        written.map_err(|_| EOVERFLOW)
    }

    fn store(&self, text: &[u8]) -> Result {
        let net = self.state.net.get();
        if !current_is_net_admin(net) {
            return Err(EPERM);
        }
        let ifindex = |name: &[u8]| {
            netdev::ifindex_by_name(net, name).inspect_err(|_| {
                self.refuse(text, "no such interface");
            })
        };
        match self.field {
            CeField::Uplink => {
                let uplink = if text.is_empty() { 0 } else { ifindex(text)? };
                let mut config = self.state.config.lock();
                config.uplink = uplink;
                // A newly named uplink starts from "usable": its next failure is news.
                self.state.uplink_usable.store(true, Ordering::Relaxed);
            }
            CeField::PeAddr => {
                let pe =
                    ipv4::parse_addr(text).map_err(|_| self.refuse(text, "not an IPv4 address"))?;
                self.state.config.lock().pe = pe;
            }
            CeField::Lan => {
                let mut lan = [0i32; MAX_LAN];
                let names = text.split(|&c| c == b' ').filter(|n| !n.is_empty());
                for (n, name) in names.enumerate() {
                    let slot = lan
                        .get_mut(n)
                        .ok_or_else(|| self.refuse(text, "more than 4 interfaces"))?;
                    *slot = ifindex(name)?;
                }
                self.state.config.lock().lan = lan;
            }
        }
        Ok(())
    }
}
