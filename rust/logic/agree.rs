// SPDX-License-Identifier: GPL-2.0

//! Key agreement for connections that no application protects (issue 19,
//! `net.ipv4.sitemh_lf.auto`): the connecting end's module offers an ephemeral X25519
//! public key for an established TCP connection, the accepting end's module answers with
//! its own and a confirmation, and both derive the connection's exchange keys from the
//! shared secret. The messages travel as the exchange's (ICMP type `icmp_type`, ICMPv6
//! type `icmp6_type`), over the connection's pair, all integers big-endian:
//!
//! ```text
//! code 12 (KEY_OFFER), code 13 (KEY_ANSWER)
//!   0 type  1 code  2 checksum  4 zero (4)
//!   8 struct id_pcb: as the offerer names the connection (its address and port first),
//!     in both messages
//!   version (1) = 1, 3 zero octets, the offerer's initial sequence number (4),
//!   the sender's X25519 public key (32)
//!   code 13 only: confirmation (16)
//! ```
//!
//! The initial sequence number ties the offer to the connection: the accepting end takes
//! it only if it is the one its socket saw in the SYN, which an off-path host cannot know
//! (32 random bits, on top of the port). The confirmation, the first 16 octets of
//! HMAC-SHA256(confirmation key, "sitemh answer" || offer's key || answer's key), proves
//! to the offerer that the answer comes from whoever holds the answer's private key and
//! saw its offer. Derivation: the TLS 1.2 PRF (SHA-256) of the shared secret with label
//! "sitemh auto keys" and seed offer's key || answer's key || id_pcb || ISN gives 72
//! octets: the 40 of the key block (`Keys::from_key_block`, the offerer being the
//! client) and a 32-octet confirmation key. An active attacker on the path at set-up can
//! sit in the middle, as with MPTCP's keys and TCP itself; the TLS-keyed mode
//! (`SO_SEQPARAM`) stays the strong one.

use super::{
    kdf::{
        constant_time_eq,
        hmac_sha256,
        tls12_prf,
        wipe,
        KEY_BLOCK_LEN, //
    },
    linkfail::{
        finish_checksum,
        internet_checksum,
        IdPcb,
        WireError,
        ICMP_HEADER_LEN, //
    },
    prefix::WireAddr,
    x25519::{self, KEY_LEN},
};

/// The connecting end's offer.
pub(crate) const CODE_KEY_OFFER: u8 = 12;
/// The accepting end's answer.
pub(crate) const CODE_KEY_ANSWER: u8 = 13;
/// The version of this form.
pub(crate) const AGREE_VERSION: u8 = 1;
/// Octets of the confirmation.
pub(crate) const CONFIRM_LEN: usize = 16;
/// The PRF label of the derivation.
pub(crate) const AGREE_LABEL: &[u8] = b"sitemh auto keys";
/// What the confirmation's HMAC starts with.
const CONFIRM_LABEL: &[u8] = b"sitemh answer";

/// An offer or an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Agreement<B> {
    /// [`CODE_KEY_OFFER`] or [`CODE_KEY_ANSWER`].
    pub(crate) code: u8,
    /// The connection as the offerer names it.
    pub(crate) pcb: IdPcb<B>,
    /// The offerer's initial sequence number.
    pub(crate) isn: u32,
    /// The sender's public key.
    pub(crate) public: [u8; KEY_LEN],
    /// An answer's confirmation (zero in an offer).
    pub(crate) confirm: [u8; CONFIRM_LEN],
}

impl<B: WireAddr> Agreement<B> {
    /// Where the version octet is.
    const BODY: usize = ICMP_HEADER_LEN + IdPcb::<B>::LEN;
    /// Octets of an offer.
    pub(crate) const OFFER_LEN: usize = Self::BODY + 8 + KEY_LEN;
    /// Octets of an answer.
    pub(crate) const ANSWER_LEN: usize = Self::OFFER_LEN + CONFIRM_LEN;

    /// Octets of this message.
    pub(crate) fn len(&self) -> usize {
        if self.code == CODE_KEY_ANSWER {
            Self::ANSWER_LEN
        } else {
            Self::OFFER_LEN
        }
    }

    /// Writes the message of ICMP type `type_` into `out` (at least [`Agreement::len`]
    /// octets; a shorter `out` is left alone) and returns its length; with
    /// `checksum` (IPv4) the ICMP checksum is filled in (ICMPv6's is the socket's job).
    pub(crate) fn write(&self, type_: u8, checksum: bool, out: &mut [u8]) -> usize {
        let len = self.len();
        let Some(out) = out.get_mut(..len) else {
            return 0;
        };
        out.fill(0);
        out[0] = type_;
        out[1] = self.code;
        self.pcb.write(&mut out[ICMP_HEADER_LEN..Self::BODY]);
        out[Self::BODY] = AGREE_VERSION;
        out[Self::BODY + 4..Self::BODY + 8].copy_from_slice(&self.isn.to_be_bytes());
        out[Self::BODY + 8..Self::OFFER_LEN].copy_from_slice(&self.public);
        if self.code == CODE_KEY_ANSWER {
            if let Some(room) = out.get_mut(Self::OFFER_LEN..Self::ANSWER_LEN) {
                room.copy_from_slice(&self.confirm);
            }
        }
        if checksum {
            finish_checksum(out);
        }
        len
    }

    /// Parses a message of ICMP type `type_` of exactly its length; with
    /// `verify_checksum` (IPv4) its checksum must verify.
    pub(crate) fn parse(
        type_: u8,
        message: &[u8],
        verify_checksum: bool,
    ) -> Result<Self, WireError> {
        if message.len() < ICMP_HEADER_LEN {
            return Err(WireError::Truncated);
        }
        let code = message[1];
        let len = match code {
            CODE_KEY_OFFER => Self::OFFER_LEN,
            CODE_KEY_ANSWER => Self::ANSWER_LEN,
            _ => return Err(WireError::WrongTypeOrCode),
        };
        if message[0] != type_ {
            return Err(WireError::WrongTypeOrCode);
        }
        if message.len() < len {
            return Err(WireError::Truncated);
        }
        if message.len() > len {
            return Err(WireError::TrailingData);
        }
        if message[4..8] != [0; 4]
            || message[Self::BODY] != AGREE_VERSION
            || message[Self::BODY + 1..Self::BODY + 4] != [0; 3]
        {
            return Err(WireError::BadRecord);
        }
        if verify_checksum && internet_checksum(message) != 0 {
            return Err(WireError::BadChecksum);
        }
        let pcb = IdPcb::read(&message[ICMP_HEADER_LEN..Self::BODY]).ok_or(WireError::Truncated)?;
        let isn = u32::from_be_bytes(
            message[Self::BODY + 4..Self::BODY + 8]
                .try_into()
                .map_err(|_| WireError::Truncated)?,
        );
        let public: [u8; KEY_LEN] = message
            .get(Self::BODY + 8..Self::OFFER_LEN)
            .and_then(|key| key.try_into().ok())
            .ok_or(WireError::Truncated)?;
        let confirm: [u8; CONFIRM_LEN] = if code == CODE_KEY_ANSWER {
            message
                .get(Self::OFFER_LEN..Self::ANSWER_LEN)
                .and_then(|tag| tag.try_into().ok())
                .ok_or(WireError::Truncated)?
        } else {
            [0; CONFIRM_LEN]
        };
        Ok(Self {
            code,
            pcb,
            isn,
            public,
            confirm,
        })
    }
}

/// What both ends derive from the shared secret: the key block and the confirmation key
/// (wiped when they go).
pub(crate) struct Derived {
    pub(crate) block: [u8; KEY_BLOCK_LEN],
    confirm_key: [u8; 32],
}

impl Drop for Derived {
    fn drop(&mut self) {
        wipe(&mut self.block);
        wipe(&mut self.confirm_key);
    }
}

impl Derived {
    /// The confirmation of an answer carrying `answer_key` to an offer of `offer_key`.
    pub(crate) fn confirmation(
        &self,
        offer_key: &[u8; KEY_LEN],
        answer_key: &[u8; KEY_LEN],
    ) -> [u8; CONFIRM_LEN] {
        let mac = hmac_sha256(&self.confirm_key, &[CONFIRM_LABEL, offer_key, answer_key]);
        let mut out = [0u8; CONFIRM_LEN];
        out.copy_from_slice(&mac[..CONFIRM_LEN]);
        out
    }

    /// Whether `confirm` is the right confirmation (in constant time).
    pub(crate) fn confirms(
        &self,
        offer_key: &[u8; KEY_LEN],
        answer_key: &[u8; KEY_LEN],
        confirm: &[u8; CONFIRM_LEN],
    ) -> bool {
        constant_time_eq(&self.confirmation(offer_key, answer_key), confirm)
    }
}

/// The derivation of one end: its `secret` scalar and the peer's public key, the two
/// public keys in the offer's and answer's order, the connection as the offerer names
/// it and the offerer's ISN. `None` if the peer's key gives no shared secret.
pub(crate) fn derive<B: WireAddr>(
    secret: &[u8; KEY_LEN],
    peer_key: &[u8; KEY_LEN],
    offer_key: &[u8; KEY_LEN],
    answer_key: &[u8; KEY_LEN],
    pcb: &IdPcb<B>,
    isn: u32,
) -> Option<Derived> {
    let mut shared = x25519::x25519(secret, peer_key)?;
    // The PRF takes three seed parts: the connection and the ISN go as one.
    let mut tail = [0u8; IdPcb::<u128>::LEN + 4];
    let tail = tail.get_mut(..IdPcb::<B>::LEN + 4)?;
    pcb.write(tail);
    tail[IdPcb::<B>::LEN..].copy_from_slice(&isn.to_be_bytes());
    let mut out = [0u8; KEY_BLOCK_LEN + 32];
    tls12_prf(
        &shared,
        AGREE_LABEL,
        &[offer_key, answer_key, tail],
        &mut out,
    );
    wipe(&mut shared);
    let mut derived = Derived {
        block: [0; KEY_BLOCK_LEN],
        confirm_key: [0; 32],
    };
    derived.block.copy_from_slice(&out[..KEY_BLOCK_LEN]);
    derived.confirm_key.copy_from_slice(&out[KEY_BLOCK_LEN..]);
    wipe(&mut out);
    Some(derived)
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::*;
    use crate::logic::{kdf::Keys, x25519::vectors::hex32};

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* agree {
                agreement_messages,
                both_ends_derive_the_same_keys,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    const PCB: IdPcb<u32> = IdPcb {
        proto: 6,
        laddr: 0xc633_648c,
        faddr: 0xc000_020a,
        lport: 40000,
        fport: 5201,
    };

    /// Offers and answers round trip in both families; truncations, extensions, a wrong
    /// version, a wrong code and a bad checksum are refused.
    pub(crate) fn agreement_messages() -> Result<(), &'static str> {
        let offer = Agreement {
            code: CODE_KEY_OFFER,
            pcb: PCB,
            isn: 0xdead_beef,
            public: [7; KEY_LEN],
            confirm: [0; CONFIRM_LEN],
        };
        let answer = Agreement {
            code: CODE_KEY_ANSWER,
            public: [9; KEY_LEN],
            confirm: [3; CONFIRM_LEN],
            ..offer
        };
        for message in [offer, answer] {
            let mut m = [0u8; Agreement::<u128>::ANSWER_LEN];
            let len = message.write(41, true, &mut m);
            if len != message.len() || Agreement::<u32>::parse(41, &m[..len], true) != Ok(message) {
                return Err("an agreement message round trip");
            }
            for cut in 0..len {
                if Agreement::<u32>::parse(41, &m[..cut], true).is_ok() {
                    return Err("a truncated agreement message is accepted");
                }
            }
            if Agreement::<u32>::parse(41, &m[..len + 1], true).is_ok()
                || Agreement::<u32>::parse(42, &m[..len], true).is_ok()
            {
                return Err("an extended or mistyped agreement message is accepted");
            }
            let mut bad = m;
            bad[Agreement::<u32>::BODY] = 2;
            if Agreement::<u32>::parse(41, &bad[..len], false).is_ok() {
                return Err("another version is accepted");
            }
            let mut bad = m;
            bad[Agreement::<u32>::BODY + 9] ^= 1;
            if Agreement::<u32>::parse(41, &bad[..len], true).is_ok() {
                return Err("a bad checksum is accepted");
            }
        }
        let pcb6 = IdPcb {
            proto: 6,
            laddr: 1u128 << 120,
            faddr: 2,
            lport: 1,
            fport: 2,
        };
        let offer6 = Agreement {
            code: CODE_KEY_OFFER,
            pcb: pcb6,
            isn: 1,
            public: [5; KEY_LEN],
            confirm: [0; CONFIRM_LEN],
        };
        let mut m = [0u8; Agreement::<u128>::ANSWER_LEN];
        let len = offer6.write(200, false, &mut m);
        if Agreement::<u128>::parse(200, &m[..len], false) != Ok(offer6) {
            return Err("an IPv6 offer round trip");
        }
        Ok(())
    }

    /// The offerer and the answerer derive the same key block (their keys crossed: what
    /// one seals the other opens); the confirmation checks at the offerer and fails for
    /// another answer key, another ISN or another connection.
    pub(crate) fn both_ends_derive_the_same_keys() -> Result<(), &'static str> {
        let offerer = hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let answerer = hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let offer_key = x25519::public_key(&offerer).ok_or("public key")?;
        let answer_key = x25519::public_key(&answerer).ok_or("public key")?;
        let isn = 0x1234_5678;
        let at_offerer = derive(&offerer, &answer_key, &offer_key, &answer_key, &PCB, isn)
            .ok_or("offerer's derivation")?;
        let at_answerer = derive(&answerer, &offer_key, &offer_key, &answer_key, &PCB, isn)
            .ok_or("answerer's derivation")?;
        if at_offerer.block != at_answerer.block {
            return Err("the two ends' key blocks differ");
        }
        let client = Keys::from_key_block(&at_offerer.block, true);
        let server = Keys::from_key_block(&at_answerer.block, false);
        if client.seal_key != server.open_key || client.open_key != server.seal_key {
            return Err("the keys do not cross");
        }
        let confirm = at_answerer.confirmation(&offer_key, &answer_key);
        if !at_offerer.confirms(&offer_key, &answer_key, &confirm) {
            return Err("the answer's confirmation fails");
        }
        if at_offerer.confirms(&offer_key, &offer_key, &confirm) {
            return Err("a confirmation for another answer key checks");
        }
        let other_isn = derive(
            &offerer,
            &answer_key,
            &offer_key,
            &answer_key,
            &PCB,
            isn + 1,
        )
        .ok_or("derivation")?;
        let other_pcb = derive(
            &offerer,
            &answer_key,
            &offer_key,
            &answer_key,
            &PCB.reversed(),
            isn,
        )
        .ok_or("derivation")?;
        if other_isn.block == at_offerer.block
            || other_pcb.block == at_offerer.block
            || other_isn.confirms(&offer_key, &answer_key, &confirm)
        {
            return Err("another ISN or connection derives the same keys");
        }
        // A small-order key gives nothing.
        if derive(
            &offerer,
            &[0; KEY_LEN],
            &offer_key,
            &[0; KEY_LEN],
            &PCB,
            isn,
        )
        .is_some()
        {
            return Err("a small-order key derives keys");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([agree] crate::logic::host_tests!());
    }
}
