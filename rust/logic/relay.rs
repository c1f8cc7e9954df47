// SPDX-License-Identifier: GPL-2.0

//! The IPv4 header of a relayed link-failure notice.
//!
//! A router relays a CE's notice to its link under the CE's address, so the notice goes
//! out with a header of sitemh's own (a raw socket with `IP_HDRINCL`): to the limited
//! broadcast address, TTL 255 (receivers check it, so that no off-link sender can forge
//! one). The kernel fills in the identification and the header checksum.

/// Octets of the header (no options).
pub(crate) const HEADER_LEN: usize = 20;
/// The longest message a relayed packet carries.
pub(crate) const MAX_MESSAGE: usize = 64;
/// The longest relayed packet.
pub(crate) const MAX_PACKET: usize = HEADER_LEN + MAX_MESSAGE;

const IPPROTO_ICMP: u8 = 1;
const TTL: u8 = 255;
/// The limited broadcast address.
const BROADCAST: u32 = 0xffff_ffff;

/// Writes the packet relaying `message` (an ICMP message, checksum included) from `saddr`
/// (host byte order) into `out`; returns its length, `None` if the message is longer
/// than [`MAX_MESSAGE`].
pub(crate) fn write_packet(
    saddr: u32,
    message: &[u8],
    out: &mut [u8; MAX_PACKET],
) -> Option<usize> {
    if message.len() > MAX_MESSAGE {
        return None;
    }
    let len = HEADER_LEN + message.len();
    let header = &mut out[..HEADER_LEN];
    header.fill(0);
    // Version 4, five words of header.
    header[0] = 0x45;
    // The bound above keeps the length far below 65536.
    header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
    header[8] = TTL;
    header[9] = IPPROTO_ICMP;
    header[12..16].copy_from_slice(&saddr.to_be_bytes());
    header[16..20].copy_from_slice(&BROADCAST.to_be_bytes());
    out[HEADER_LEN..len].copy_from_slice(message);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut out = [0xaau8; MAX_PACKET];
        let message = [41u8, 2, 0x12, 0x34, 0, 0, 0, 0];
        let len = write_packet(0xc000_0201, &message, &mut out).unwrap();
        assert_eq!(len, 28);
        assert_eq!(
            &out[..20],
            &[
                0x45, 0, 0, 28, // version, IHL, TOS, total length
                0, 0, 0, 0, // identification, flags, fragment offset (the kernel's)
                255, 1, 0, 0, // TTL, ICMP, checksum (the kernel's)
                192, 0, 2, 1, // source
                255, 255, 255, 255, // limited broadcast
            ]
        );
        assert_eq!(&out[20..28], &message);
    }

    #[test]
    fn longest_message_fits_and_longer_is_refused() {
        let mut out = [0u8; MAX_PACKET];
        assert_eq!(
            write_packet(1, &[7u8; MAX_MESSAGE], &mut out),
            Some(MAX_PACKET)
        );
        assert_eq!(&out[2..4], &(MAX_PACKET as u16).to_be_bytes());
        assert_eq!(write_packet(1, &[7u8; MAX_MESSAGE + 1], &mut out), None);
        assert_eq!(write_packet(1, &[], &mut out), Some(HEADER_LEN));
    }
}
