// SPDX-License-Identifier: GPL-2.0

//! Sockets the module keeps state for: a counted reference, the connection's tuple, and
//! the one thing the switchover asks of TCP (retransmit now).

use core::ptr::NonNull;

use kernel::{
    bindings,
    error::to_result,
    prelude::*, //
};

use super::{
    bindings as local,
    cgroup::CgroupRef,
    net::Net, //
};
use crate::logic::kdf::KTLS_SECRET_MAX;

/// A connected TCP or UDP socket's tuple (`A`: `u32` for IPv4, `u128` for IPv6), host
/// byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tuple<A> {
    /// IPPROTO_TCP or IPPROTO_UDP.
    pub(crate) proto: u8,
    /// Local address and port.
    pub(crate) saddr: A,
    pub(crate) sport: u16,
    /// Peer address and port.
    pub(crate) daddr: A,
    pub(crate) dport: u16,
}

/// A reference on a socket, which keeps the `struct sock` (not the connection) alive.
///
/// # Invariants
///
/// `sk` is a socket on which this value holds one reference (`sock_hold`).
pub(crate) struct SockRef {
    sk: NonNull<bindings::sock>,
}

// SAFETY: socket references may be taken and dropped on any thread.
unsafe impl Send for SockRef {}
// SAFETY: the methods taking `&self` are safe to call concurrently (they lock the socket
// or read single fields).
unsafe impl Sync for SockRef {}

impl SockRef {
    /// Takes a reference on `sk`.
    ///
    /// # Safety
    ///
    /// `sk` is a live socket for the duration of the call.
    pub(crate) unsafe fn new(sk: *mut bindings::sock) -> Option<Self> {
        let sk = NonNull::new(sk)?;
        // SAFETY: `sk` is live (caller's promise).
        unsafe { local::sitemh_sock_hold(sk.as_ptr()) };
        // INVARIANT: the reference was just taken.
        Some(Self { sk })
    }

    /// Adopts the reference the glue took on `sk` (NULL: none).
    ///
    /// # Safety
    ///
    /// `sk` is NULL or a live socket on which the caller hands over one reference.
    unsafe fn adopt(sk: *mut bindings::sock) -> Option<Self> {
        // INVARIANT: the reference is the caller's, handed over.
        NonNull::new(sk).map(|sk| Self { sk })
    }

    /// Whether this is the socket at `sk`.
    pub(crate) fn is(&self, sk: *const bindings::sock) -> bool {
        core::ptr::eq(self.sk.as_ptr(), sk)
    }

    /// The IPv4 tuple of the connected socket; `EPROTONOSUPPORT` for other sockets,
    /// `ENOTCONN` if it is not connected. Sleeps (takes the socket lock).
    pub(crate) fn tuple4(&self) -> Result<Tuple<u32>> {
        let (mut proto, mut saddr, mut daddr, mut sport, mut dport) = (0u8, 0u32, 0u32, 0u16, 0u16);
        // SAFETY: the socket is alive (type invariant); the out pointers are writable.
        to_result(unsafe {
            local::sitemh_sock_tuple4(
                self.sk.as_ptr(),
                &mut proto,
                &mut saddr,
                &mut daddr,
                &mut sport,
                &mut dport,
            )
        })?;
        Ok(Tuple {
            proto,
            saddr: u32::from_be(saddr),
            sport: u16::from_be(sport),
            daddr: u32::from_be(daddr),
            dport: u16::from_be(dport),
        })
    }

    /// The IPv6 tuple of the connected socket; as [`SockRef::tuple4`], and
    /// `EAFNOSUPPORT` for an IPv4-mapped peer. Sleeps.
    pub(crate) fn tuple6(&self) -> Result<Tuple<u128>> {
        let (mut proto, mut saddr, mut daddr, mut sport, mut dport) =
            (0u8, [0u8; 16], [0u8; 16], 0u16, 0u16);
        // SAFETY: the socket is alive (type invariant); the out pointers are writable, the
        // addresses 16 octets each.
        to_result(unsafe {
            local::sitemh_sock_tuple6(
                self.sk.as_ptr(),
                &mut proto,
                saddr.as_mut_ptr(),
                daddr.as_mut_ptr(),
                &mut sport,
                &mut dport,
            )
        })?;
        Ok(Tuple {
            proto,
            saddr: u128::from_be_bytes(saddr),
            sport: u16::from_be(sport),
            daddr: u128::from_be_bytes(daddr),
            dport: u16::from_be(dport),
        })
    }

    /// An identity of the socket, stable while this reference lives (rate limits are
    /// kept per connection under it).
    pub(crate) fn id(&self) -> usize {
        self.sk.as_ptr() as usize
    }

    /// Whether a socket other than this one would receive the IPv4 packets of `tuple` as
    /// this host sees it (`saddr`:`sport` local, `daddr`:`dport` the peer) arriving on
    /// interface `dif` (0: any): an established TCP or connected UDP socket with that
    /// tuple, or a listener or unconnected UDP socket on the local address and port of
    /// another user (see `glue_sock.h`). Any context: it takes no reference and does not
    /// sleep.
    pub(crate) fn tuple_taken4(&self, net: &Net, tuple: &Tuple<u32>, dif: i32) -> bool {
        // SAFETY: `net` is alive (a reference); the socket is alive (type invariant).
        unsafe {
            local::sitemh_tuple_taken4(
                net.as_raw(),
                tuple.proto,
                tuple.saddr.to_be(),
                tuple.sport.to_be(),
                tuple.daddr.to_be(),
                tuple.dport.to_be(),
                dif,
                self.sk.as_ptr(),
            )
        }
    }

    /// [`SockRef::tuple_taken4`] for IPv6.
    pub(crate) fn tuple_taken6(&self, net: &Net, tuple: &Tuple<u128>, dif: i32) -> bool {
        let (local, peer) = (tuple.saddr.to_be_bytes(), tuple.daddr.to_be_bytes());
        // SAFETY: as in `tuple_taken4`; both addresses have 16 octets.
        unsafe {
            local::sitemh_tuple_taken6(
                net.as_raw(),
                tuple.proto,
                local.as_ptr(),
                tuple.sport.to_be(),
                peer.as_ptr(),
                tuple.dport.to_be(),
                dif,
                self.sk.as_ptr(),
            )
        }
    }

    /// The (kernel) uid that owns the socket.
    pub(crate) fn uid(&self) -> u32 {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_sock_uid(self.sk.as_ptr()) }
    }

    /// Whether the connection is over (the module then forgets it).
    pub(crate) fn closed(&self) -> bool {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_sock_closed(self.sk.as_ptr()) }
    }

    /// The socket's TOS (IPv4) or traffic class (IPv6): the service it asks for.
    pub(crate) fn tos(&self) -> u8 {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_sock_tos(self.sk.as_ptr()) }
    }

    /// TCP's smoothed round trip in microseconds (0: unknown or UDP).
    pub(crate) fn srtt_us(&self) -> u32 {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_sock_srtt_us(self.sk.as_ptr()) }
    }

    /// Where a TCP connection is: connecting, established, or neither (closing, closed).
    pub(crate) fn tcp_phase(&self) -> TcpPhase {
        // SAFETY: the socket is alive (type invariant).
        match unsafe { local::sitemh_tcp_phase(self.sk.as_ptr()) } {
            1 => TcpPhase::Connecting,
            2 => TcpPhase::Established,
            _ => TcpPhase::Other,
        }
    }

    /// The initial sequence number of a TCP socket's peer (valid until the peer's FIN).
    pub(crate) fn peer_isn(&self) -> u32 {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_tcp_peer_isn(self.sk.as_ptr()) }
    }

    /// The key material of the socket's kernel TLS state, transmit and receive (key, salt
    /// and IV of each). `ENOENT`: not kTLS in both directions; `EOPNOTSUPP`: a cipher the
    /// module does not derive from. Sleeps (the socket's lock).
    pub(crate) fn ktls_secrets(&self) -> Result<KtlsSecrets> {
        let mut secrets = KtlsSecrets {
            tx: [0; KTLS_SECRET_MAX],
            rx: [0; KTLS_SECRET_MAX],
            len: 0,
        };
        // SAFETY: the socket is alive (type invariant); both buffers hold
        // `KTLS_SECRET_MAX` octets, the bound passed.
        let len = unsafe {
            local::sitemh_ktls_secrets(
                self.sk.as_ptr(),
                secrets.tx.as_mut_ptr(),
                secrets.rx.as_mut_ptr(),
                KTLS_SECRET_MAX as u32,
            )
        };
        secrets.len = usize::try_from(to_result(len).map(|()| len)?).map_err(|_| EINVAL)?;
        Ok(secrets)
    }

    /// Whether the socket was created in `cgroup` or one of its descendants (an
    /// accepted socket: where its listener was).
    pub(crate) fn in_cgroup(&self, cgroup: &CgroupRef) -> bool {
        // SAFETY: the socket is alive (type invariant) and `cgroup` holds a reference on
        // its cgroup.
        unsafe { local::sitemh_sock_in_cgroup(self.sk.as_ptr(), cgroup.as_ptr()) }
    }

    /// Makes TCP retransmit what is in flight now. Sleeps.
    pub(crate) fn kick(&self) {
        // SAFETY: the socket is alive (type invariant).
        unsafe { local::sitemh_sock_kick(self.sk.as_ptr()) }
    }
}

impl Drop for SockRef {
    fn drop(&mut self) {
        // SAFETY: this value holds one reference (type invariant).
        unsafe { local::sitemh_sock_put(self.sk.as_ptr()) };
    }
}

impl Clone for SockRef {
    fn clone(&self) -> Self {
        // SAFETY: the socket is alive (this value holds a reference).
        unsafe { local::sitemh_sock_hold(self.sk.as_ptr()) };
        // INVARIANT: the new value holds the reference just taken.
        Self { sk: self.sk }
    }
}

/// A socket's kernel TLS key material ([`SockRef::ktls_secrets`]): `len` octets of each
/// direction's key, salt and IV. Wiped when it goes.
pub(crate) struct KtlsSecrets {
    pub(crate) tx: [u8; KTLS_SECRET_MAX],
    pub(crate) rx: [u8; KTLS_SECRET_MAX],
    pub(crate) len: usize,
}

impl Drop for KtlsSecrets {
    fn drop(&mut self) {
        crate::logic::kdf::wipe(&mut self.tx);
        crate::logic::kdf::wipe(&mut self.rx);
    }
}

/// Where a TCP connection is ([`SockRef::tcp_phase`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TcpPhase {
    Connecting,
    Established,
    Other,
}

/// The established TCP socket of `tuple` (`saddr`:`sport` local), if there is one.
/// Process context.
pub(crate) fn tcp_established4(net: &Net, tuple: &Tuple<u32>) -> Option<SockRef> {
    // SAFETY: `net` is alive (a reference); the glue returns NULL or a socket with a
    // reference for us.
    unsafe {
        SockRef::adopt(local::sitemh_tcp_established_sock4(
            net.as_raw(),
            tuple.saddr.to_be(),
            tuple.sport.to_be(),
            tuple.daddr.to_be(),
            tuple.dport.to_be(),
        ))
    }
}

/// The same for IPv6.
pub(crate) fn tcp_established6(net: &Net, tuple: &Tuple<u128>) -> Option<SockRef> {
    let (l, r) = (tuple.saddr.to_be_bytes(), tuple.daddr.to_be_bytes());
    // SAFETY: `net` is alive (a reference); the addresses have 16 octets; the glue returns
    // NULL or a socket with a reference for us.
    unsafe {
        SockRef::adopt(local::sitemh_tcp_established_sock6(
            net.as_raw(),
            l.as_ptr(),
            tuple.sport.to_be(),
            r.as_ptr(),
            tuple.dport.to_be(),
        ))
    }
}

/// Fills `buf` with random octets (an ephemeral key).
pub(crate) fn random_bytes(buf: &mut [u8]) {
    // SAFETY: `buf` is writable for its length.
    unsafe { local::sitemh_random_bytes(buf.as_mut_ptr(), buf.len()) }
}

/// Whether `addr` (host byte order) is one of `net`'s own IPv4 addresses. Any context.
pub(crate) fn addr_is_local4(net: &Net, addr: u32) -> bool {
    // SAFETY: `net` is alive (a reference).
    unsafe { local::sitemh_ipv4_is_local(net.as_raw(), addr.to_be()) }
}

/// Whether `addr` (host byte order) is one of `net`'s own IPv6 addresses. Any context.
pub(crate) fn addr_is_local6(net: &Net, addr: u128) -> bool {
    let a = addr.to_be_bytes();
    // SAFETY: `net` is alive (a reference); `a` has 16 octets.
    unsafe { local::sitemh_ipv6_is_local(net.as_raw(), a.as_ptr()) }
}
