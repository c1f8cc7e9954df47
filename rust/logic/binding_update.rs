// SPDX-License-Identifier: GPL-2.0

//! Authenticated binding updates: how a mobile node (or a node with a provider-independent
//! address) tells a correspondent where its home address is reached, so that the
//! correspondent may give stacked packets from that care-of address their home address
//! back (draft 2.2, 2.2.1) and send its own packets there.
//!
//! The draft lets any stacked packet teach a binding; anyone who can send a packet could
//! then redirect a correspondent's traffic for any address. Here a binding is only ever
//! learned from an update authenticated with a key the two ends share (the site's binding
//! key, `net.ipv{4,6}.sitemh_home.binding_key`), in the spirit of RFC 6275's binding
//! updates, fresh (its timestamp within [`FRESHNESS_MS`] of the receiver's clock) and newer
//! than the last one taken for the same home address.
//!
//! The update is an ICMP (ICMPv6) message of the module's type, code
//! [`CODE_BINDING_UPDATE`], sent from the care-of address to the correspondent:
//!
//! ```text
//!  0 type  1 code (7)  2 checksum  4 reserved (0, 4 octets)
//!  8 home address (4 or 16)  then the care-of address (4 or 16)
//!    timestamp (8, milliseconds of the sender's wall clock)  lifetime (2, seconds)
//!    reserved (2, zero)  tag (16)
//! ```
//!
//! The tag is the first 16 octets of HMAC-SHA256 under the binding key over a label, the
//! message without its checksum and tag, and the correspondent's address: an update for
//! one correspondent is worthless at another, and one from another address than the
//! care-of address it names is refused.

use super::{
    kdf::{
        constant_time_eq,
        hmac_sha256, //
    },
    stacking::HomeAddr,
};

/// The ICMP code of a binding update (the module's ICMP type; codes 1-6 are link notices
/// and the switchover's exchange).
pub(crate) const CODE_BINDING_UPDATE: u8 = 7;
/// The ICMP code of a binding error: a correspondent refused a stacked packet for want of
/// a binding (it lost its state, or the update was lost on the way). Unauthenticated: it
/// only makes the node away send its update again sooner, at most once per
/// [`HINT_INTERVAL_MS`] and correspondent, so forging it gains nothing.
pub(crate) const CODE_BINDING_ERROR: u8 = 8;
/// The shortest time between two updates sent because of binding errors, and between two
/// binding errors sent to the same address.
pub(crate) const HINT_INTERVAL_MS: u64 = 1000;
/// Octets of a binding key.
pub(crate) const KEY_LEN: usize = 32;
/// Octets of the tag.
pub(crate) const TAG_LEN: usize = 16;
/// How long a binding lasts unless refreshed, in seconds, as a mobile node announces it.
pub(crate) const LIFETIME_S: u16 = 120;
/// The longest lifetime a correspondent grants, whatever an update asks for.
pub(crate) const MAX_LIFETIME_S: u16 = 600;
/// How far an update's timestamp may be from the receiver's clock, in milliseconds.
pub(crate) const FRESHNESS_MS: u64 = 30_000;
/// What the tag covers first, so that no other message under the same key verifies.
const LABEL: &[u8] = b"sitemh binding update v1";
const HEADER_LEN: usize = 8;

/// Octets of a binding update whose addresses have `addr_len` octets.
pub(crate) const fn update_len(addr_len: usize) -> usize {
    HEADER_LEN + 2 * addr_len + 8 + 2 + 2 + TAG_LEN
}

/// The longest binding update (IPv6).
pub(crate) const UPDATE_MAX: usize = update_len(16);

/// What a binding update says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BindingUpdate<A> {
    pub(crate) home: A,
    pub(crate) careof: A,
    /// Milliseconds of the sender's wall clock.
    pub(crate) timestamp_ms: u64,
    pub(crate) lifetime_s: u16,
}

/// Why a binding update was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UpdateError {
    /// Not of the update's length.
    Length,
    /// Not the module's type with the update's code.
    NotAnUpdate,
    /// Sent from another address than the care-of address it names.
    WrongSource,
    /// A home or care-of address no node can have, or both the same.
    BadAddress,
    /// The tag does not verify: another key, or changed on the way.
    BadTag,
    /// Its timestamp is too far from the receiver's clock.
    Stale,
}

/// The tag of `message` (an update without its tag) for `correspondent`.
fn tag<A: HomeAddr>(key: &[u8; KEY_LEN], message: &[u8], correspondent: A) -> [u8; 32] {
    let mut peer = [0u8; 16];
    correspondent.write(&mut peer);
    // The checksum (octets 2, 3) is filled in after the tag: it is not covered.
    let (head, rest) = (
        message.get(..2).unwrap_or(&[]),
        message.get(4..).unwrap_or(&[]),
    );
    hmac_sha256(key, &[LABEL, head, rest, &peer[..A::LEN]])
}

/// Writes `update` for `correspondent` into `out`, with the checksum left zero (IPv4's
/// sender fills it in; ICMPv6's stack computes it). Returns its length, or `None` if
/// `out` is too short.
pub(crate) fn write_update<A: HomeAddr>(
    key: &[u8; KEY_LEN],
    type_: u8,
    update: &BindingUpdate<A>,
    correspondent: A,
    out: &mut [u8],
) -> Option<usize> {
    let len = update_len(A::LEN);
    let out = out.get_mut(..len)?;
    out.fill(0);
    out[0] = type_;
    out[1] = CODE_BINDING_UPDATE;
    let mut at = HEADER_LEN;
    update.home.write(&mut out[at..]);
    at += A::LEN;
    update.careof.write(&mut out[at..]);
    at += A::LEN;
    out[at..at + 8].copy_from_slice(&update.timestamp_ms.to_be_bytes());
    at += 8;
    out[at..at + 2].copy_from_slice(&update.lifetime_s.to_be_bytes());
    at += 4;
    let mut full = tag(key, &out[..at], correspondent);
    out[at..at + TAG_LEN].copy_from_slice(&full[..TAG_LEN]);
    full.fill(0);
    Some(len)
}

/// Checks a binding update that `src` sent to `dst` (this node) at `now_ms` of this node's
/// wall clock, under `key`.
pub(crate) fn parse_update<A: HomeAddr>(
    key: &[u8; KEY_LEN],
    type_: u8,
    message: &[u8],
    src: A,
    dst: A,
    now_ms: u64,
) -> Result<BindingUpdate<A>, UpdateError> {
    if message.len() != update_len(A::LEN) {
        return Err(UpdateError::Length);
    }
    if message[0] != type_ || message[1] != CODE_BINDING_UPDATE {
        return Err(UpdateError::NotAnUpdate);
    }
    let at_tag = message.len() - TAG_LEN;
    let mut full = tag(key, &message[..at_tag], dst);
    let verified = constant_time_eq(&full[..TAG_LEN], &message[at_tag..]);
    full.fill(0);
    if !verified {
        return Err(UpdateError::BadTag);
    }
    let home = A::read(&message[HEADER_LEN..]);
    let careof = A::read(&message[HEADER_LEN + A::LEN..]);
    let at = HEADER_LEN + 2 * A::LEN;
    let mut stamp = [0u8; 8];
    stamp.copy_from_slice(&message[at..at + 8]);
    let timestamp_ms = u64::from_be_bytes(stamp);
    let lifetime_s = u16::from_be_bytes([message[at + 8], message[at + 9]]);
    if careof != src {
        return Err(UpdateError::WrongSource);
    }
    if !home.usable_as_home() || !careof.usable_as_home() || home == careof || home == dst {
        return Err(UpdateError::BadAddress);
    }
    if timestamp_ms.abs_diff(now_ms) > FRESHNESS_MS {
        return Err(UpdateError::Stale);
    }
    Ok(BindingUpdate {
        home,
        careof,
        timestamp_ms,
        lifetime_s: lifetime_s.clamp(1, MAX_LIFETIME_S),
    })
}

/// How often a mobile node repeats its update to a correspondent it keeps sending to:
/// a third of the lifetime, so that two may be lost before the binding lapses.
pub(crate) const REFRESH_MS: u64 = LIFETIME_S as u64 * 1000 / 3;

/// The correspondents a mobile node sends updates to: which are due. A fixed number of
/// entries; when full, the one updated longest ago makes room.
#[derive(Clone, Debug)]
pub(crate) struct UpdateSchedule<A, const N: usize> {
    /// Correspondent, when last sent (0: never), whether one is due.
    entries: [(A, u64, bool); N],
    len: usize,
}

impl<A: HomeAddr, const N: usize> Default for UpdateSchedule<A, N> {
    fn default() -> Self {
        Self {
            entries: [(A::default(), 0, false); N],
            len: 0,
        }
    }
}

impl<A: HomeAddr, const N: usize> UpdateSchedule<A, N> {
    /// A stacked packet leaves for `correspondent` at `now`: returns whether an update to
    /// it became due (none was sent within [`REFRESH_MS`], and none is due already).
    pub(crate) fn note(&mut self, correspondent: A, now: u64) -> bool {
        if let Some(entry) = self.entries[..self.len]
            .iter_mut()
            .find(|e| e.0 == correspondent)
        {
            if entry.2 || (entry.1 != 0 && now.saturating_sub(entry.1) < REFRESH_MS) {
                return false;
            }
            entry.2 = true;
            return true;
        }
        let slot = if self.len < N {
            self.len += 1;
            self.len - 1
        } else {
            let mut oldest = 0;
            for (i, e) in self.entries.iter().enumerate() {
                if e.1 < self.entries[oldest].1 {
                    oldest = i;
                }
            }
            oldest
        };
        if let Some(entry) = self.entries.get_mut(slot) {
            *entry = (correspondent, 0, true);
        }
        true
    }

    /// Takes the correspondents due at `now` into `out` (as many as fit), marking them
    /// sent; returns how many.
    pub(crate) fn take_due(&mut self, now: u64, out: &mut [A]) -> usize {
        let mut n = 0;
        for entry in self.entries[..self.len].iter_mut().filter(|e| e.2) {
            let Some(slot) = out.get_mut(n) else {
                break;
            };
            *slot = entry.0;
            entry.1 = now.max(1);
            entry.2 = false;
            n += 1;
        }
        n
    }

    /// A binding error came from `correspondent` at `now`: returns whether its update
    /// became due again (it is one of ours, and its last update left at least
    /// [`HINT_INTERVAL_MS`] ago).
    pub(crate) fn hint(&mut self, correspondent: A, now: u64) -> bool {
        let Some(entry) = self.entries[..self.len]
            .iter_mut()
            .find(|e| e.0 == correspondent)
        else {
            return false;
        };
        if entry.2 || now.saturating_sub(entry.1) < HINT_INTERVAL_MS {
            return false;
        }
        entry.2 = true;
        true
    }

    /// Forgets every correspondent (the node came home, or its key changed).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

/// Octets of a binding error whose addresses have `addr_len` octets: the ICMP header,
/// then the home address the refused packet stacked.
pub(crate) const fn error_len(addr_len: usize) -> usize {
    HEADER_LEN + addr_len
}

/// Writes a binding error naming `home`, checksum zero; returns its length.
pub(crate) fn write_error<A: HomeAddr>(type_: u8, home: A, out: &mut [u8]) -> Option<usize> {
    let len = error_len(A::LEN);
    let out = out.get_mut(..len)?;
    out.fill(0);
    out[0] = type_;
    out[1] = CODE_BINDING_ERROR;
    home.write(&mut out[HEADER_LEN..]);
    Some(len)
}

/// The home address a binding error names, if `message` is one.
pub(crate) fn parse_error<A: HomeAddr>(type_: u8, message: &[u8]) -> Option<A> {
    if message.len() != error_len(A::LEN) || message[0] != type_ || message[1] != CODE_BINDING_ERROR
    {
        return None;
    }
    Some(A::read(&message[HEADER_LEN..]))
}

/// Where binding errors are to be sent: a fixed number of addresses, each at most once per
/// [`HINT_INTERVAL_MS`], so that a flood of unbound packets costs a few messages a second.
#[derive(Clone, Debug)]
pub(crate) struct ErrorQueue<A, const N: usize> {
    /// Source of the refused packet, the home address it stacked, the address it was
    /// sent to (the error's source), when last sent, due.
    entries: [(A, A, A, u64, bool); N],
    len: usize,
}

impl<A: HomeAddr, const N: usize> Default for ErrorQueue<A, N> {
    fn default() -> Self {
        Self {
            entries: [(A::default(), A::default(), A::default(), 0, false); N],
            len: 0,
        }
    }
}

impl<A: HomeAddr, const N: usize> ErrorQueue<A, N> {
    /// A stacked packet from `to` to `from` naming `home` was refused at `now`: returns
    /// whether an error to it became due.
    pub(crate) fn push(&mut self, to: A, from: A, home: A, now: u64) -> bool {
        if let Some(entry) = self.entries[..self.len].iter_mut().find(|e| e.0 == to) {
            if entry.4 || (entry.3 != 0 && now.saturating_sub(entry.3) < HINT_INTERVAL_MS) {
                return false;
            }
            entry.1 = home;
            entry.2 = from;
            entry.4 = true;
            return true;
        }
        let slot = if self.len < N {
            self.len += 1;
            self.len - 1
        } else {
            // Full: an entry not due, sent longest ago, makes room; none: nothing new.
            let Some((i, _)) = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.4)
                .min_by_key(|(_, e)| e.3)
            else {
                return false;
            };
            i
        };
        if let Some(entry) = self.entries.get_mut(slot) {
            *entry = (to, home, from, 0, true);
        }
        true
    }

    /// Takes the errors due into `out` as (to, from, home), marking them sent at `now`.
    pub(crate) fn take_due(&mut self, now: u64, out: &mut [(A, A, A)]) -> usize {
        let mut n = 0;
        for entry in self.entries[..self.len].iter_mut().filter(|e| e.4) {
            let Some(slot) = out.get_mut(n) else {
                break;
            };
            *slot = (entry.0, entry.2, entry.1);
            entry.3 = now.max(1);
            entry.4 = false;
            n += 1;
        }
        n
    }
}

/// Parses a binding key as written to the knob: 64 hexadecimal digits (an optional
/// trailing newline). `Ok(None)`: the empty text, no key.
pub(crate) fn parse_key(text: &[u8]) -> Result<Option<[u8; KEY_LEN]>, ()> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() != 2 * KEY_LEN {
        return Err(());
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(()),
    };
    let mut key = [0u8; KEY_LEN];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        key[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Ok(Some(key))
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::*;

    pub(crate) const KEY: [u8; KEY_LEN] = [0x5a; KEY_LEN];
    const HOME: u32 = 0x6440_0005; // 100.64.0.5
    const CAREOF: u32 = 0xc633_640a; // 198.51.100.10
    const PEER: u32 = 0xc000_02c8; // 192.0.2.200

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* binding_update {
                update_verifies_at_its_correspondent,
                update_refused_elsewhere,
                changed_updates_refused,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// The update of the vectors.
    const UPDATE: BindingUpdate<u32> = BindingUpdate {
        home: HOME,
        careof: CAREOF,
        timestamp_ms: 1_000_000,
        lifetime_s: LIFETIME_S,
    };

    /// The update written for `PEER` under `KEY` (sequence 41), and its length.
    fn written() -> Result<([u8; UPDATE_MAX], usize), &'static str> {
        let mut m = [0u8; UPDATE_MAX];
        let len = write_update(&KEY, 41, &UPDATE, PEER, &mut m).ok_or("no room")?;
        if len != update_len(4) {
            return Err("length");
        }
        Ok((m, len))
    }

    /// A written update has its length and verifies at its correspondent.
    pub(crate) fn update_verifies_at_its_correspondent() -> Result<(), &'static str> {
        let (m, len) = written()?;
        if parse_update(&KEY, 41, &m[..len], CAREOF, PEER, 1_000_500) != Ok(UPDATE) {
            return Err("a good update was refused");
        }
        Ok(())
    }

    /// Misdirected, forged, spoofed and stale updates are refused.
    pub(crate) fn update_refused_elsewhere() -> Result<(), &'static str> {
        let (m, len) = written()?;
        let m = &m[..len];
        if parse_update(&KEY, 41, m, CAREOF, 0xc000_02c9, 1_000_500) != Err(UpdateError::BadTag) {
            return Err("an update verified at another correspondent");
        }
        if parse_update(&[0; KEY_LEN], 41, m, CAREOF, PEER, 1_000_500) != Err(UpdateError::BadTag) {
            return Err("an update verified under another key");
        }
        if parse_update(&KEY, 41, m, PEER, PEER, 1_000_500) != Err(UpdateError::WrongSource) {
            return Err("an update from another address than its care-of address");
        }
        if parse_update(&KEY, 41, m, CAREOF, PEER, 1_000_000 + FRESHNESS_MS + 1)
            != Err(UpdateError::Stale)
        {
            return Err("a stale update");
        }
        Ok(())
    }

    /// An update changed in any octet (but the checksum's) or cut short is refused.
    pub(crate) fn changed_updates_refused() -> Result<(), &'static str> {
        let (m, len) = written()?;
        let m = &m[..len];
        for i in 0..len {
            if i == 2 || i == 3 {
                continue;
            }
            let mut bad = [0u8; UPDATE_MAX];
            bad[..len].copy_from_slice(m);
            bad[i] ^= 1;
            if parse_update(&KEY, 41, &bad[..len], CAREOF, PEER, 1_000_500).is_ok() {
                return Err("a changed update verified");
            }
        }
        if parse_update(&KEY, 41, &m[..len - 1], CAREOF, PEER, 1_000_500)
            != Err(UpdateError::Length)
        {
            return Err("a short update");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([binding_update] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_updates_verify_and_carry_their_fields() {
        let home: u128 = 0x2001_0db8_00aa_0000_0000_0000_0000_0005;
        let careof: u128 = 0x2001_0db8_0001_000a_0000_0000_0000_0010;
        let peer: u128 = 0x2001_0db8_00ff_0004_0000_0000_0000_0002;
        let update = BindingUpdate {
            home,
            careof,
            timestamp_ms: 5,
            lifetime_s: 60_000,
        };
        let mut m = [0u8; UPDATE_MAX];
        let len = write_update(&vectors::KEY, 200, &update, peer, &mut m).unwrap();
        assert_eq!(len, UPDATE_MAX);
        let got = parse_update(&vectors::KEY, 200, &m, careof, peer, 10).unwrap();
        // The lifetime asked for is capped.
        assert_eq!(got.lifetime_s, MAX_LIFETIME_S);
        assert_eq!((got.home, got.careof, got.timestamp_ms), (home, careof, 5));
        // Unusable home addresses are refused even when authenticated.
        for bad_home in [0u128, 1, 0xffff_c000_0205, 0xfe80 << 112, careof, peer] {
            let forged = BindingUpdate {
                home: bad_home,
                ..update
            };
            let len = write_update(&vectors::KEY, 200, &forged, peer, &mut m).unwrap();
            assert_eq!(
                parse_update(&vectors::KEY, 200, &m[..len], careof, peer, 10),
                Err(UpdateError::BadAddress)
            );
        }
    }

    #[test]
    fn random_messages_never_verify_or_panic() {
        let mut next = crate::logic::xorshift(0x5eed);
        for len in 0..=UPDATE_MAX + 2 {
            for _ in 0..64 {
                let mut m = [0u8; UPDATE_MAX + 2];
                for b in m.iter_mut() {
                    *b = next() as u8;
                }
                m[0] = 41;
                m[1] = CODE_BINDING_UPDATE;
                assert!(parse_update::<u32>(&vectors::KEY, 41, &m[..len], 1, 2, 0).is_err());
                assert!(parse_update::<u128>(&vectors::KEY, 41, &m[..len], 1, 2, 0).is_err());
            }
        }
    }

    #[test]
    fn updates_are_due_once_per_refresh_interval() {
        let mut schedule = UpdateSchedule::<u32, 2>::default();
        let mut out = [0u32; 2];
        assert!(schedule.note(1, 10));
        assert!(!schedule.note(1, 11), "already due");
        assert_eq!(schedule.take_due(12, &mut out), 1);
        assert_eq!(out[0], 1);
        assert!(!schedule.note(1, 12 + REFRESH_MS - 1));
        assert!(schedule.note(1, 12 + REFRESH_MS));
        assert!(schedule.note(2, 13));
        // Full: the one sent longest ago makes room.
        assert_eq!(schedule.take_due(14, &mut out), 2);
        assert!(schedule.note(3, 15));
        assert_eq!(schedule.take_due(16, &mut out[..1]), 1);
        assert_eq!(out[0], 3);
        schedule.clear();
        assert!(schedule.note(3, 17));
    }

    #[test]
    fn binding_errors_hurry_updates_at_a_bounded_rate() {
        let mut schedule = UpdateSchedule::<u32, 4>::default();
        let mut out = [0u32; 4];
        assert!(!schedule.hint(1, 0), "not a correspondent of ours");
        assert!(schedule.note(1, 10));
        assert_eq!(schedule.take_due(10, &mut out), 1);
        assert!(!schedule.hint(1, 10 + HINT_INTERVAL_MS - 1));
        assert!(schedule.hint(1, 10 + HINT_INTERVAL_MS));
        assert!(!schedule.hint(1, 10 + HINT_INTERVAL_MS), "already due");

        let mut errors = ErrorQueue::<u32, 2>::default();
        let mut due = [(0u32, 0u32, 0u32); 2];
        assert!(errors.push(7, 1, 70, 100));
        assert!(!errors.push(7, 1, 70, 101));
        assert_eq!(errors.take_due(102, &mut due), 1);
        assert_eq!(due[0], (7, 1, 70));
        assert!(!errors.push(7, 1, 70, 102 + HINT_INTERVAL_MS - 1));
        assert!(errors.push(7, 1, 71, 102 + HINT_INTERVAL_MS));
        assert!(errors.push(8, 1, 80, 2000));
        assert!(!errors.push(9, 1, 90, 2000), "full of errors still due");
        assert_eq!(errors.take_due(2001, &mut due), 2);
        assert!(errors.push(9, 1, 90, 2002));

        let mut m = [0u8; 32];
        let len = write_error(41, 0x6440_0005u32, &mut m).unwrap();
        assert_eq!(parse_error::<u32>(41, &m[..len]), Some(0x6440_0005));
        assert_eq!(parse_error::<u32>(41, &m[..len - 1]), None);
        assert_eq!(parse_error::<u128>(41, &m[..len]), None);
    }

    #[test]
    fn keys_are_64_hex_digits_or_nothing() {
        assert_eq!(parse_key(b""), Ok(None));
        assert_eq!(parse_key(b"\n"), Ok(None));
        let text = [b'a'; 64];
        assert_eq!(parse_key(&text), Ok(Some([0xaa; KEY_LEN])));
        assert_eq!(parse_key(&text[..63]), Err(()));
        let mut bad = text;
        bad[10] = b'g';
        assert_eq!(parse_key(&bad), Err(()));
    }
}
