// SPDX-License-Identifier: GPL-2.0

//! Reliable link notices (sitemh's addition to draft section 2.1.2): a CE repeats every
//! state change it announces and re-announces a failure while it lasts, hosts recognise the
//! copies, never let an older notice overwrite a newer state, and let a failure mark lapse
//! when nothing refreshes it. One lost datagram then no longer decides whether a site fails
//! over, or whether a provider stays ranked last for good.
//!
//! A notice (codes 1, 2 and 5, IPv4 and IPv6) may carry, after the draft's fields, the
//! state announcement ([`Announced`], 12 octets):
//!
//! ```text
//!  0 kind (1) = 1
//!  1 copy (1): 0 for the first, then 1, 2, ... (relays tell the copies apart)
//!  2 lifetime (2): seconds the state stands unless announced again (0: until the next
//!    notice)
//!  4 boot (4): the CE's random number for this run of its module
//!  8 sequence (4): one more at each state change the CE announces; its copies repeat it
//! ```
//!
//! The ICMP checksum (IPv4) covers it. A notice of the draft's length is still accepted: it
//! never lapses and is not ordered.
//!
//! With a site key (`net.ipv4.sitemh_ce.key`), notices and the CEs' keepalives are sealed
//! instead: kind 2, the same 12 octets, then the sender's wall clock (8: ms since the
//! epoch) and a tag (16: HMAC-SHA256 under the key, truncated, of the label `sitemh
//! notice`, the sender's address and the message from its type to the time, checksum
//! zero). A host with the key accepts nothing else, and only within [`FRESH_MS`] of its
//! own clock.

use super::ratelimit::PeerLimiter;

use super::linkfail::{
    internet_checksum,
    parse_notice,
    parse_notice6,
    write_notice,
    write_notice6,
    Notice,
    Notice6,
    WireError,
    CODE_CE_FAILURE,
    CODE_CE_PE_LINK,
    CODE_KEEPALIVE,
    CODE_LINK_RESTORED,
    ICMP_HEADER_LEN,
    NOTICE6_LEN,
    NOTICE_LEN, //
};

/// The announcement's kind octet.
pub(crate) const ANNOUNCED_KIND: u8 = 1;
/// The sealed announcement's kind octet.
pub(crate) const SEALED_KIND: u8 = 2;
/// Octets of the announcement.
pub(crate) const ANNOUNCED_LEN: usize = 12;
/// Octets of the tag of a sealed announcement.
pub(crate) const TAG_LEN: usize = 16;
/// Octets of the sealed announcement: the announcement, the time, the tag.
pub(crate) const SEALED_LEN: usize = ANNOUNCED_LEN + 8 + TAG_LEN;
/// Octets of the longest IPv4 notice (sealed).
pub(crate) const NOTICE_MAX: usize = NOTICE_LEN + SEALED_LEN;
/// Octets of the longest IPv6 notice (sealed).
pub(crate) const NOTICE6_MAX: usize = NOTICE6_LEN + SEALED_LEN;
/// Octets of a site key.
pub(crate) const KEY_LEN: usize = 32;
/// How far a sealed notice's time may be from the receiver's clock (ms): a recorded notice
/// played later than that is refused.
pub(crate) const FRESH_MS: u64 = 30_000;
/// The tag's label, so that a site key used elsewhere too cannot be played against this.
const TAG_LABEL: &[u8] = b"sitemh notice";

/// How a notice is sealed: the site key, the address it is sent from, the sender's clock.
pub(crate) struct Seal<'a> {
    /// The site key.
    pub(crate) key: &'a [u8; KEY_LEN],
    /// The source address (4 or 16 octets) the receiver will see.
    pub(crate) src: &'a [u8],
    /// The sender's wall clock, ms since the epoch.
    pub(crate) time_ms: u64,
}

/// The tag of `signed` (a message up to its time, checksum zero) sent from `src`.
fn tag_of(key: &[u8; KEY_LEN], src: &[u8], signed: &[u8]) -> [u8; TAG_LEN] {
    let mac = super::kdf::hmac_sha256(key, &[TAG_LABEL, src, signed]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&mac[..TAG_LEN]);
    tag
}

/// Whether a sealed `message` (IPv4 or IPv6, whole) from `src` carries the tag of `key`.
pub(crate) fn seal_verifies(message: &[u8], src: &[u8], key: &[u8; KEY_LEN]) -> bool {
    let mut signed = [0u8; NOTICE6_MAX];
    let Some(len) = message.len().checked_sub(TAG_LEN) else {
        return false;
    };
    if len < ICMP_HEADER_LEN || len > signed.len() {
        return false;
    }
    signed[..len].copy_from_slice(&message[..len]);
    signed[2..4].fill(0);
    let tag = tag_of(key, src, &signed[..len]);
    super::kdf::constant_time_eq(&tag, &message[len..])
}

/// Whether a sealed notice's time `sent_ms` is within [`FRESH_MS`] of `now_ms`.
pub(crate) fn is_fresh(sent_ms: u64, now_ms: u64) -> bool {
    sent_ms.abs_diff(now_ms) <= FRESH_MS
}

/// What follows a notice's draft fields: nothing, an announcement, or a sealed one (with
/// the sender's time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tail {
    /// The announcement, if any.
    pub(crate) announced: Option<Announced>,
    /// The sender's time, if sealed (the tag is checked by [`seal_verifies`]).
    pub(crate) sealed_at_ms: Option<u64>,
}

impl Tail {
    /// A notice of the draft's length.
    pub(crate) const DRAFT: Tail = Tail {
        announced: None,
        sealed_at_ms: None,
    };
}

/// Reads what follows the draft fields of a notice of `code`.
fn read_tail(code: u8, tail: &[u8]) -> Result<Tail, WireError> {
    match tail.len() {
        0 => Ok(Tail::DRAFT),
        ANNOUNCED_LEN if announces(code) => Ok(Tail {
            announced: Some(Announced::read(tail, ANNOUNCED_KIND)?),
            sealed_at_ms: None,
        }),
        SEALED_LEN if announces(code) || code == CODE_KEEPALIVE => {
            let mut time = [0u8; 8];
            time.copy_from_slice(&tail[ANNOUNCED_LEN..ANNOUNCED_LEN + 8]);
            Ok(Tail {
                announced: Some(Announced::read(&tail[..ANNOUNCED_LEN], SEALED_KIND)?),
                sealed_at_ms: Some(u64::from_be_bytes(time)),
            })
        }
        ANNOUNCED_LEN | SEALED_LEN => Err(WireError::WrongTypeOrCode),
        n if n > SEALED_LEN => Err(WireError::TrailingData),
        _ => Err(WireError::Truncated),
    }
}

/// Writes `announced` (sealed if `seal`) after the `head` octets of `out`, whose checksum
/// field is zero; returns the message's length.
fn write_tail(
    out: &mut [u8],
    head: usize,
    announced: &Announced,
    seal: Option<&Seal<'_>>,
) -> usize {
    let kind = if seal.is_some() {
        SEALED_KIND
    } else {
        ANNOUNCED_KIND
    };
    announced.write(&mut out[head..head + ANNOUNCED_LEN], kind);
    let Some(seal) = seal else {
        return head + ANNOUNCED_LEN;
    };
    let time_at = head + ANNOUNCED_LEN;
    out[time_at..time_at + 8].copy_from_slice(&seal.time_ms.to_be_bytes());
    let signed = time_at + 8;
    let tag = tag_of(seal.key, seal.src, &out[..signed]);
    out[signed..signed + TAG_LEN].copy_from_slice(&tag);
    signed + TAG_LEN
}

/// A CE's state announcement, carried after a notice's draft fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Announced {
    /// Which copy of the announcement this is (0: the first).
    pub(crate) copy: u8,
    /// Seconds the state stands unless announced again; 0: until the next notice.
    pub(crate) lifetime_s: u16,
    /// The CE's random number for this run of its module.
    pub(crate) boot: u32,
    /// The CE's count of state changes; every copy of one announcement carries the same.
    pub(crate) seq: u32,
}

impl Announced {
    fn write(&self, out: &mut [u8], kind: u8) {
        if out.len() < ANNOUNCED_LEN {
            return;
        }
        out[0] = kind;
        out[1] = self.copy;
        out[2..4].copy_from_slice(&self.lifetime_s.to_be_bytes());
        out[4..8].copy_from_slice(&self.boot.to_be_bytes());
        out[8..12].copy_from_slice(&self.seq.to_be_bytes());
    }

    fn read(octets: &[u8], kind: u8) -> Result<Self, WireError> {
        let word = |at: usize| -> Result<u32, WireError> {
            let four = octets.get(at..at + 4).ok_or(WireError::Truncated)?;
            Ok(u32::from_be_bytes([four[0], four[1], four[2], four[3]]))
        };
        if octets.len() != ANNOUNCED_LEN {
            return Err(WireError::Truncated);
        }
        if octets[0] != kind {
            return Err(WireError::UnknownExtension);
        }
        Ok(Self {
            copy: octets[1],
            lifetime_s: u16::from_be_bytes([octets[2], octets[3]]),
            boot: word(4)?,
            seq: word(8)?,
        })
    }
}

/// Whether `code` is one a CE announces (and may carry an announcement).
fn announces(code: u8) -> bool {
    matches!(code, CODE_CE_PE_LINK | CODE_CE_FAILURE | CODE_LINK_RESTORED)
}

/// Writes an IPv4 notice with its announcement (sealed if `seal`) and checksum; returns
/// its length.
pub(crate) fn write_announced(
    type_: u8,
    notice: &Notice,
    announced: &Announced,
    seal: Option<&Seal<'_>>,
    out: &mut [u8; NOTICE_MAX],
) -> usize {
    out.fill(0);
    let mut head = [0u8; NOTICE_LEN];
    write_notice(type_, notice, &mut head);
    out[..NOTICE_LEN].copy_from_slice(&head);
    out[2..4].fill(0);
    let len = write_tail(out, NOTICE_LEN, announced, seal);
    let sum = internet_checksum(&out[..len]);
    out[2..4].copy_from_slice(&sum.to_be_bytes());
    len
}

/// Parses an IPv4 notice of the draft's length, with its announcement (codes 1, 2 and 5)
/// or sealed (and keepalives); the checksum must verify over all of it.
pub(crate) fn parse_announced(type_: u8, message: &[u8]) -> Result<(Notice, Tail), WireError> {
    if message.len() <= NOTICE_LEN {
        return parse_notice(type_, message).map(|notice| (notice, Tail::DRAFT));
    }
    let code = message[1];
    if message[0] != type_ || !(announces(code) || code == CODE_KEEPALIVE) {
        return Err(WireError::WrongTypeOrCode);
    }
    let tail = read_tail(code, &message[NOTICE_LEN..])?;
    if internet_checksum(message) != 0 {
        return Err(WireError::BadChecksum);
    }
    let notice = Notice {
        code,
        gateway: u32::from_be_bytes([message[4], message[5], message[6], message[7]]),
    };
    Ok((notice, tail))
}

/// Writes an IPv6 notice with its announcement (sealed if `seal`; checksum 0: the sending
/// socket fills it in); returns its length.
pub(crate) fn write_announced6(
    type_: u8,
    notice: &Notice6,
    announced: &Announced,
    seal: Option<&Seal<'_>>,
    out: &mut [u8; NOTICE6_MAX],
) -> usize {
    out.fill(0);
    let mut head = [0u8; NOTICE6_LEN];
    write_notice6(type_, notice, &mut head);
    out[..NOTICE6_LEN].copy_from_slice(&head);
    write_tail(out, NOTICE6_LEN, announced, seal)
}

/// Parses an IPv6 notice of the draft's length, with its announcement or sealed, from
/// `src` to `dst`; its checksum must verify.
pub(crate) fn parse_announced6(
    type_: u8,
    message: &[u8],
    src: u128,
    dst: u128,
) -> Result<(Notice6, Tail), WireError> {
    if message.len() <= NOTICE6_LEN {
        return parse_notice6(type_, message, src, dst).map(|notice| (notice, Tail::DRAFT));
    }
    let code = message[1];
    if message[0] != type_ || !(announces(code) || code == CODE_KEEPALIVE) {
        return Err(WireError::WrongTypeOrCode);
    }
    let tail = read_tail(code, &message[NOTICE6_LEN..])?;
    if super::linkfail::icmpv6_checksum(src, dst, message) != 0 {
        return Err(WireError::BadChecksum);
    }
    let mut gateway = [0u8; 16];
    gateway.copy_from_slice(&message[ICMP_HEADER_LEN..NOTICE6_LEN]);
    let notice = Notice6 {
        code,
        gateway: u128::from_be_bytes(gateway),
    };
    Ok((notice, tail))
}

/// When a CE sends the copies of an announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// The first repetition's delay; each next one waits twice as long (0: none).
    pub(crate) repeat_ms: u32,
    /// Repetitions after the first copy.
    pub(crate) repeats: u32,
    /// While a failure lasts, it is announced again this often (0: never).
    pub(crate) refresh_ms: u32,
}

impl Timing {
    /// The lifetime a failure is announced with: three refresh intervals, so that two lost
    /// refreshes in a row do not let the mark lapse (0 without refreshes: until the next
    /// notice).
    pub(crate) fn lifetime_s(&self) -> u16 {
        if self.refresh_ms == 0 {
            return 0;
        }
        let ms = u64::from(self.refresh_ms) * 3;
        ms.div_ceil(1000).clamp(1, u64::from(u16::MAX)) as u16
    }
}

/// One announcement a CE is sending: a state change of one gateway (its PE or a peer CE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Announcement<A> {
    /// CODE_CE_PE_LINK, CODE_CE_FAILURE or CODE_LINK_RESTORED.
    pub(crate) code: u8,
    /// The PE or the peer the state is about.
    pub(crate) gateway: A,
    /// Its sequence number.
    pub(crate) seq: u32,
    /// Copies sent so far.
    pub(crate) sent: u32,
    /// When it was first sent.
    pub(crate) at_ms: u64,
    /// When the next copy is due; `None`: no more.
    pub(crate) next_ms: Option<u64>,
}

impl<A: Copy> Announcement<A> {
    /// A new announcement of `code` for `gateway`, its first copy due at `now_ms`.
    pub(crate) fn new(code: u8, gateway: A, seq: u32, now_ms: u64) -> Self {
        Self {
            code,
            gateway,
            seq,
            sent: 0,
            at_ms: now_ms,
            next_ms: Some(now_ms),
        }
    }

    /// Whether a copy is due at `now_ms`.
    pub(crate) fn due(&self, now_ms: u64) -> bool {
        self.next_ms.is_some_and(|at| at <= now_ms)
    }

    /// The copy to send now, counted as sent, and when the next one falls due: the
    /// repetitions after `repeat_ms`, twice that, four times that... from the first copy;
    /// then, for a failure, every `refresh_ms` while it lasts.
    pub(crate) fn take_copy(&mut self, timing: &Timing, boot: u32, now_ms: u64) -> Announced {
        let copy = self.sent.min(u32::from(u8::MAX)) as u8;
        self.sent = self.sent.saturating_add(1);
        let failure = self.code != CODE_LINK_RESTORED;
        self.next_ms = if timing.repeat_ms > 0 && self.sent <= timing.repeats {
            // Copy k (k >= 1) at repeat_ms * (2^k - 1) after the first.
            let k = self.sent.min(20);
            let offset = u64::from(timing.repeat_ms) * ((1u64 << k) - 1);
            Some((self.at_ms + offset).max(now_ms))
        } else if failure && timing.refresh_ms > 0 {
            Some(now_ms + u64::from(timing.refresh_ms))
        } else {
            None
        };
        Announced {
            copy,
            lifetime_s: if failure { timing.lifetime_s() } else { 0 },
            boot,
            seq: self.seq,
        }
    }
}

/// What a host makes of a notice, against the last one of the same CE about the same
/// gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Order {
    /// A state this host has not heard yet: act on it.
    New,
    /// A copy of the last one: refresh its lifetime, nothing else.
    Repeat,
    /// Older than the last one (a late copy, or held back): ignore it.
    Stale,
}

/// How far behind the last notice a notice is still a late copy (stale). Further behind,
/// it is taken as new: without a site key anyone on the link can send a notice with a
/// sequence number far ahead, which must not make the CE's own later notices look old.
pub(crate) const STALE_WINDOW: u32 = 16;

/// Orders a notice's `(boot, seq)` after the last one heard, if any. A new boot (the CE's
/// module started again) starts over; within one boot, serial-number arithmetic (RFC
/// 1982) decides, so the counter may wrap; a notice at most [`STALE_WINDOW`] behind is
/// stale.
pub(crate) fn order(last: Option<(u32, u32)>, boot: u32, seq: u32) -> Order {
    match last {
        None => Order::New,
        Some((last_boot, _)) if last_boot != boot => Order::New,
        Some((_, last_seq)) if last_seq == seq => Order::Repeat,
        Some((_, last_seq)) if (seq.wrapping_sub(last_seq) as i32) > 0 => Order::New,
        Some((_, last_seq)) if last_seq.wrapping_sub(seq) <= STALE_WINDOW => Order::Stale,
        Some(_) => Order::New,
    }
}

/// The last notice a host heard from one CE about one gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Heard<A> {
    sender: A,
    gateway: A,
    /// Its `(boot, seq)`, if it carried an announcement.
    stamp: Option<(u32, u32)>,
    /// Whether it said "failed".
    down: bool,
    /// The domains it concerns, bit per domain number.
    domains: u32,
    /// When a failure lapses (0: never).
    until_ms: u64,
    /// When it was last heard.
    heard_ms: u64,
}

/// The notices a host heard, and so which of its domains are down: a domain is down while
/// some CE's last word on some gateway of it is a failure that has not lapsed. `N` entries
/// (a CE and a gateway each); a full table forgets a restored entry first, then the one
/// heard least recently.
pub(crate) struct HeardNotices<A, const N: usize> {
    entries: [Option<Heard<A>>; N],
}

/// What hearing a notice did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hearing {
    /// New, a repetition, or stale (then nothing changed).
    pub(crate) order: Order,
    /// Domains down before, as of `now`.
    pub(crate) before: u32,
    /// Domains down after.
    pub(crate) after: u32,
}

impl<A: Copy + Eq, const N: usize> HeardNotices<A, N> {
    /// An empty table.
    pub(crate) const fn new() -> Self {
        Self { entries: [None; N] }
    }

    /// Hears a notice of `code` from `sender` about `gateway`, concerning `domains`, at
    /// `now_ms`.
    pub(crate) fn hear(
        &mut self,
        sender: A,
        gateway: A,
        code: u8,
        announced: Option<Announced>,
        domains: u32,
        now_ms: u64,
    ) -> Hearing {
        let before = self.down_mask(now_ms);
        let at = self
            .entries
            .iter()
            .position(|e| e.is_some_and(|e| e.sender == sender && e.gateway == gateway));
        let last = at.and_then(|i| self.entries[i]).and_then(|e| e.stamp);
        let order = match announced {
            Some(a) => order(last, a.boot, a.seq),
            None => Order::New,
        };
        if order == Order::Stale {
            return Hearing {
                order,
                before,
                after: before,
            };
        }
        let down = code != CODE_LINK_RESTORED;
        let lifetime_ms = announced.map_or(0, |a| u64::from(a.lifetime_s) * 1000);
        let entry = Heard {
            sender,
            gateway,
            stamp: announced.map(|a| (a.boot, a.seq)),
            down,
            domains,
            until_ms: if down && lifetime_ms > 0 {
                now_ms + lifetime_ms
            } else {
                0
            },
            heard_ms: now_ms,
        };
        let slot = at.unwrap_or_else(|| self.free_slot());
        if let Some(place) = self.entries.get_mut(slot) {
            *place = Some(entry);
        }
        Hearing {
            order,
            before,
            after: self.down_mask(now_ms),
        }
    }

    fn free_slot(&self) -> usize {
        if let Some(i) = self.entries.iter().position(|e| e.is_none()) {
            return i;
        }
        let oldest = |restored: bool| {
            self.entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.map(|e| (i, e)))
                .filter(|(_, e)| !restored || !e.down)
                .min_by_key(|(_, e)| e.heard_ms)
                .map(|(i, _)| i)
        };
        oldest(true).or_else(|| oldest(false)).unwrap_or(0)
    }

    /// The domains down at `now_ms`.
    pub(crate) fn down_mask(&self, now_ms: u64) -> u32 {
        self.entries
            .iter()
            .flatten()
            .filter(|e| e.down && (e.until_ms == 0 || now_ms < e.until_ms))
            .fold(0, |mask, e| mask | e.domains)
    }

    /// When the next failure mark lapses, if one will.
    pub(crate) fn next_lapse(&self, now_ms: u64) -> Option<u64> {
        self.entries
            .iter()
            .flatten()
            .filter(|e| e.down && e.until_ms > now_ms)
            .map(|e| e.until_ms)
            .min()
    }

    /// Forgets everything (the domains were configured anew).
    pub(crate) fn clear(&mut self) {
        self.entries = [None; N];
    }
}

/// Solicitations a CE keeps for its work item to answer.
pub(crate) const SOLICITS_QUEUED: usize = 8;
/// Hosts whose solicitations are limited one by one.
const SOLICITORS: usize = 16;
/// Solicitations answered a second, from all hosts together.
pub(crate) const ANSWERED_PER_S: u32 = 20;

/// The solicitations a CE received and will answer (host, the address it asked, the
/// interface it came on), within limits: each host one a second after a burst of two, and
/// all hosts together [`ANSWERED_PER_S`] a second after a burst as large, so that sources
/// cycling through more addresses than the per-host table holds cannot make the CE send
/// more than that (each solicitation is answered with up to five notices).
pub(crate) struct Solicitations<A: Copy + Eq> {
    pending: [Option<(A, A, i32)>; SOLICITS_QUEUED],
    per_host: PeerLimiter<A, SOLICITORS>,
    all: PeerLimiter<(), 1>,
}

impl<A: Copy + Eq> Solicitations<A> {
    /// None yet.
    pub(crate) const fn new() -> Self {
        Self {
            pending: [None; SOLICITS_QUEUED],
            per_host: PeerLimiter::new(1, 2),
            all: PeerLimiter::new(ANSWERED_PER_S, ANSWERED_PER_S),
        }
    }

    /// Keeps the solicitation of `host` to `ours` on `iif` at `now_ms`, within the limits
    /// and the room left; whether it was kept.
    pub(crate) fn push(&mut self, host: A, ours: A, iif: i32, now_ms: u64) -> bool {
        let Some(slot) = self.pending.iter().position(Option::is_none) else {
            return false;
        };
        if !self.per_host.allow(host, now_ms) || !self.all.allow((), now_ms) {
            return false;
        }
        self.pending[slot] = Some((host, ours, iif));
        true
    }

    /// The solicitations kept so far, leaving none.
    pub(crate) fn take(&mut self) -> [Option<(A, A, i32)>; SOLICITS_QUEUED] {
        core::mem::replace(&mut self.pending, [None; SOLICITS_QUEUED])
    }
}

/// Named checks shared by the host tests and the KUnit suite `sitemh_linkfail`.
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* announce {
                announced_round_trip,
                announced_refusals,
                sealed_notices,
                copies_with_growing_spacing,
                serial_order,
                marks_lapse_and_order,
                solicitations_within_limits,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    const ANNOUNCED: Announced = Announced {
        copy: 2,
        lifetime_s: 30,
        boot: 0xdead_beef,
        seq: 7,
    };

    /// IPv4 and IPv6 notices with their announcement parse back to what was written; the
    /// draft's lengths still parse, without one.
    pub(crate) fn announced_round_trip() -> Result<(), &'static str> {
        let notice = Notice {
            code: CODE_CE_PE_LINK,
            gateway: 0xc000_0202,
        };
        let mut m = [0u8; NOTICE_MAX];
        let len = write_announced(41, &notice, &ANNOUNCED, None, &mut m);
        let tail = Tail {
            announced: Some(ANNOUNCED),
            sealed_at_ms: None,
        };
        if len != NOTICE_LEN + ANNOUNCED_LEN || parse_announced(41, &m[..len]) != Ok((notice, tail))
        {
            return Err("IPv4 notice with its announcement");
        }
        let mut draft = [0u8; NOTICE_LEN];
        write_notice(41, &notice, &mut draft);
        if parse_announced(41, &draft) != Ok((notice, Tail::DRAFT)) {
            return Err("IPv4 notice of the draft's length");
        }
        let (src, dst) = (0xfe80_u128 << 112 | 1, 0xff02_u128 << 112 | 1);
        let notice6 = Notice6 {
            code: CODE_LINK_RESTORED,
            gateway: 0x2001_0db8_u128 << 96 | 2,
        };
        let mut m6 = [0u8; NOTICE6_MAX];
        let len6 = write_announced6(200, &notice6, &ANNOUNCED, None, &mut m6);
        let sum = super::super::linkfail::icmpv6_checksum(src, dst, &m6[..len6]);
        m6[2..4].copy_from_slice(&sum.to_be_bytes());
        if parse_announced6(200, &m6[..len6], src, dst) != Ok((notice6, tail)) {
            return Err("IPv6 notice with its announcement");
        }
        Ok(())
    }

    /// Every truncation, a tampered octet, an unknown kind, a keepalive with an unsealed
    /// announcement, and trailing data are refused.
    pub(crate) fn announced_refusals() -> Result<(), &'static str> {
        let notice = Notice {
            code: CODE_CE_FAILURE,
            gateway: 0xc633_6482,
        };
        let mut m = [0u8; NOTICE_MAX];
        let len = write_announced(41, &notice, &ANNOUNCED, None, &mut m);
        let m = &m[..len];
        for cut in NOTICE_LEN + 1..len {
            if parse_announced(41, &m[..cut]).is_ok() {
                return Err("a truncated announcement is accepted");
            }
        }
        let mut long = [0u8; NOTICE_MAX + 1];
        long[..len].copy_from_slice(m);
        if parse_announced(41, &long).is_ok() {
            return Err("trailing data is accepted");
        }
        let mut tampered = [0u8; NOTICE_LEN + ANNOUNCED_LEN];
        tampered.copy_from_slice(m);
        tampered[len - 1] ^= 1;
        if parse_announced(41, &tampered) != Err(WireError::BadChecksum) {
            return Err("a tampered sequence is accepted");
        }
        let mut kind = tampered;
        kind[len - 1] ^= 1;
        kind[NOTICE_LEN] = 7;
        kind[2..4].fill(0);
        let sum = internet_checksum(&kind);
        kind[2..4].copy_from_slice(&sum.to_be_bytes());
        if parse_announced(41, &kind) != Err(WireError::UnknownExtension) {
            return Err("an unknown extension is accepted");
        }
        let mut keepalive = kind;
        keepalive[NOTICE_LEN] = ANNOUNCED_KIND;
        keepalive[1] = CODE_KEEPALIVE;
        keepalive[2..4].fill(0);
        let sum = internet_checksum(&keepalive);
        keepalive[2..4].copy_from_slice(&sum.to_be_bytes());
        if parse_announced(41, &keepalive) != Err(WireError::WrongTypeOrCode) {
            return Err("a keepalive with an unsealed announcement is accepted");
        }
        Ok(())
    }

    const KEY: [u8; KEY_LEN] = [0x5a; KEY_LEN];

    /// A sealed notice (and keepalive) verifies under its key from its source only; another
    /// key, another source, a changed octet, a changed time do not; freshness is 30 s
    /// either way.
    pub(crate) fn sealed_notices() -> Result<(), &'static str> {
        let src = [198, 51, 100, 129];
        let seal = Seal {
            key: &KEY,
            src: &src,
            time_ms: 1_700_000_000_000,
        };
        for code in [CODE_CE_PE_LINK, CODE_KEEPALIVE] {
            let notice = Notice {
                code,
                gateway: 0xc000_0202,
            };
            let mut m = [0u8; NOTICE_MAX];
            let len = write_announced(41, &notice, &ANNOUNCED, Some(&seal), &mut m);
            let tail = Tail {
                announced: Some(ANNOUNCED),
                sealed_at_ms: Some(seal.time_ms),
            };
            if len != NOTICE_MAX || parse_announced(41, &m) != Ok((notice, tail)) {
                return Err("IPv4 sealed notice");
            }
            if !seal_verifies(&m, &src, &KEY) {
                return Err("a sealed notice does not verify");
            }
            if seal_verifies(&m, &[198, 51, 100, 130], &KEY) || seal_verifies(&m, &src, &[1; 32]) {
                return Err("a sealed notice verifies from another source or key");
            }
            for at in [
                1,
                4,
                NOTICE_LEN + 3,
                NOTICE_LEN + ANNOUNCED_LEN + 7,
                NOTICE_MAX - 1,
            ] {
                let mut changed = m;
                changed[at] ^= 0x10;
                if seal_verifies(&changed, &src, &KEY) {
                    return Err("a changed sealed notice verifies");
                }
            }
        }
        let src6 = (0x2001_0db8_0001_u128 << 80 | 1).to_be_bytes();
        let seal6 = Seal {
            key: &KEY,
            src: &src6,
            time_ms: 5,
        };
        let notice6 = Notice6 {
            code: CODE_CE_FAILURE,
            gateway: 7,
        };
        let mut m6 = [0u8; NOTICE6_MAX];
        let len6 = write_announced6(200, &notice6, &ANNOUNCED, Some(&seal6), &mut m6);
        // The socket fills in the checksum after the tag was made.
        m6[2] = 0x12;
        if len6 != NOTICE6_MAX || !seal_verifies(&m6, &src6, &KEY) {
            return Err("IPv6 sealed notice");
        }
        if !is_fresh(100_000, 130_000) || !is_fresh(130_000, 100_000) || is_fresh(100_000, 130_001)
        {
            return Err("freshness");
        }
        Ok(())
    }

    /// A failure's copies go at 0, 200, 600, 1400 ms, then every refresh; a restoration's
    /// stop after the repetitions; no repetitions with repeat_ms 0.
    pub(crate) fn copies_with_growing_spacing() -> Result<(), &'static str> {
        let timing = Timing {
            repeat_ms: 200,
            repeats: 3,
            refresh_ms: 10_000,
        };
        let mut a = Announcement::new(CODE_CE_PE_LINK, 1u32, 5, 1000);
        let mut times = [0u64; 6];
        for (i, t) in times.iter_mut().enumerate() {
            let now = a.next_ms.ok_or("a failure stops being announced")?;
            *t = now;
            let copy = a.take_copy(&timing, 3, now);
            if usize::from(copy.copy) != i
                || copy.seq != 5
                || copy.boot != 3
                || copy.lifetime_s != 30
            {
                return Err("copy fields");
            }
        }
        if times != [1000, 1200, 1600, 2400, 12_400, 22_400] {
            return Err("copy times");
        }
        let mut up = Announcement::new(CODE_LINK_RESTORED, 1u32, 6, 0);
        let mut copies = 0;
        while let Some(now) = up.next_ms {
            if up.take_copy(&timing, 3, now).lifetime_s != 0 {
                return Err("a restoration with a lifetime");
            }
            copies += 1;
            if copies > 10 {
                break;
            }
        }
        if copies != 4 {
            return Err("a restoration is sent 1 + repeats times");
        }
        let once = Timing {
            repeat_ms: 0,
            repeats: 3,
            refresh_ms: 0,
        };
        let mut single = Announcement::new(CODE_CE_FAILURE, 1u32, 1, 0);
        single.take_copy(&once, 3, 0);
        if single.next_ms.is_some() || once.lifetime_s() != 0 {
            return Err("repeat_ms 0 and refresh_ms 0 send once, forever");
        }
        Ok(())
    }

    /// Serial-number order within a boot, across the wrap; a new boot starts over; only a
    /// notice a little behind is stale.
    pub(crate) fn serial_order() -> Result<(), &'static str> {
        let cases = [
            (None, 1, 1, Order::New),
            (Some((1, 5)), 1, 5, Order::Repeat),
            (Some((1, 5)), 1, 6, Order::New),
            (Some((1, 5)), 1, 4, Order::Stale),
            (Some((1, u32::MAX)), 1, 0, Order::New),
            (Some((1, 0)), 1, u32::MAX, Order::Stale),
            (Some((1, 5)), 2, 1, Order::New),
            (Some((1, 20)), 1, 4, Order::Stale),
            // A forged notice far ahead does not make the CE's next one stale.
            (Some((1, 5 + (1 << 30))), 1, 6, Order::New),
            (Some((1, 21)), 1, 4, Order::New),
        ];
        for (last, boot, seq, want) in cases {
            if order(last, boot, seq) != want {
                return Err("notice order");
            }
        }
        Ok(())
    }

    /// A failure marks its domains until its lifetime ends or a newer restoration comes; a
    /// late copy of the failure does not mark them again; another CE's failure of the
    /// same domains keeps them down; a draft notice never lapses.
    pub(crate) fn marks_lapse_and_order() -> Result<(), &'static str> {
        let mut heard = HeardNotices::<u32, 4>::new();
        let down = |seq| Announced {
            copy: 0,
            lifetime_s: 3,
            boot: 9,
            seq,
        };
        let h = heard.hear(1, 100, CODE_CE_PE_LINK, Some(down(1)), 0b01, 0);
        if h.order != Order::New || h.before != 0 || h.after != 0b01 {
            return Err("a failure marks its domains");
        }
        if heard
            .hear(1, 100, CODE_CE_PE_LINK, Some(down(1)), 0b01, 2000)
            .order
            != Order::Repeat
        {
            return Err("a copy is a repetition");
        }
        if heard.down_mask(4999) != 0b01 || heard.down_mask(5000) != 0 {
            return Err("a repetition refreshes the lifetime, which then ends");
        }
        if heard.next_lapse(0) != Some(5000) {
            return Err("next lapse");
        }
        let mut up = down(2);
        up.lifetime_s = 0;
        if heard
            .hear(1, 100, CODE_LINK_RESTORED, Some(up), 0b01, 100)
            .after
            != 0
        {
            return Err("a restoration clears the mark");
        }
        let late = heard.hear(1, 100, CODE_CE_PE_LINK, Some(down(1)), 0b01, 200);
        if late.order != Order::Stale || late.after != 0 {
            return Err("a late copy of the failure marks again");
        }
        heard.hear(2, 1, CODE_CE_FAILURE, Some(down(1)), 0b01, 300);
        heard.hear(1, 100, CODE_CE_PE_LINK, None, 0b10, 300);
        if heard.down_mask(1_000_000) != 0b10 || heard.down_mask(400) != 0b11 {
            return Err("marks of several CEs, and a draft notice's");
        }
        for sender in 10..20 {
            heard.hear(sender, 0, CODE_LINK_RESTORED, None, 0b100, 500);
        }
        if heard.down_mask(600) != 0b11 {
            return Err("a full table forgets a failure before a restoration");
        }
        heard.clear();
        if heard.down_mask(600) != 0 {
            return Err("clear");
        }
        Ok(())
    }

    /// A host gets two solicitations through, then one a second; a flood from ever new
    /// sources gets no more than [`ANSWERED_PER_S`] through a second; the queue holds 8.
    pub(crate) fn solicitations_within_limits() -> Result<(), &'static str> {
        let mut s = Solicitations::<u32>::new();
        let kept = (0..3).filter(|_| s.push(7, 1, 2, 0)).count();
        if kept != 2 || s.take().iter().flatten().count() != 2 {
            return Err("per host: a burst of two");
        }
        if !s.push(7, 1, 2, 1000) {
            return Err("per host: one a second");
        }
        s.take();
        let mut through = 0;
        for host in 100..1100u32 {
            if s.push(host, 1, 2, 5000) {
                through += 1;
            }
            if host % 8 == 0 {
                s.take();
            }
        }
        if through != ANSWERED_PER_S as usize {
            return Err("a flood from cycling sources is held to the total");
        }
        let mut full = Solicitations::<u32>::new();
        let queued = (0..20u32).filter(|&h| full.push(h, 1, 2, 0)).count();
        if queued != SOLICITS_QUEUED {
            return Err("the queue's room");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([announce] crate::logic::host_tests!());
    }
}
