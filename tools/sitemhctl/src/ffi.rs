//! The only `unsafe` of sitemhctl: `getsockopt(2)` and `setsockopt(2)` on a socket std
//! opened, for the module's socket options, and a netlink socket for `monitor`
//! (`socket(2)`, `bind(2)`, `send(2)`, `recv(2)`, `if_indextoname(3)`), none of which std
//! offers. Declared here rather than taken from a crate, so that the tool has no
//! dependencies.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::os::fd::FromRawFd;
use std::os::fd::OwnedFd;
use std::os::raw::c_char;
use std::os::raw::c_int;
use std::os::raw::c_uint;
use std::os::raw::c_void;

extern "C" {
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut u32) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: u32) -> c_int;
    fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    fn bind(fd: c_int, addr: *const c_void, len: u32) -> c_int;
    fn send(fd: c_int, buf: *const c_void, len: usize, flags: c_int) -> isize;
    fn recv(fd: c_int, buf: *mut c_void, len: usize, flags: c_int) -> isize;
    fn if_indextoname(index: c_uint, name: *mut c_char) -> *mut c_char;
}

const AF_NETLINK: c_int = 16;
const SOCK_RAW: c_int = 3;
const SOCK_CLOEXEC: c_int = 0o2000000;
const SOL_NETLINK: c_int = 270;
const NETLINK_ADD_MEMBERSHIP: c_int = 1;
const IF_NAMESIZE: usize = 16;

/// `struct sockaddr_nl`.
#[repr(C)]
struct SockaddrNl {
    nl_family: u16,
    nl_pad: u16,
    nl_pid: u32,
    nl_groups: u32,
}

/// A netlink socket of one protocol, bound to a port the kernel picks.
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)`, bound (`nl_pid` 0: the
    /// kernel picks the port, the process's id if it is free).
    pub fn open(protocol: i32) -> io::Result<Netlink> {
        // SAFETY: plain integers in, a new descriptor (or -1) out; nothing is borrowed.
        let fd = unsafe { socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket(2), is open, and nothing else owns it:
        // the OwnedFd closes it exactly once.
        let sock = Netlink {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        };
        let addr = SockaddrNl {
            nl_family: AF_NETLINK as u16,
            nl_pad: 0,
            nl_pid: 0,
            nl_groups: 0,
        };
        // SAFETY: `addr` is a valid `struct sockaddr_nl` on the stack for the whole call,
        // and the length passed is exactly its size; the kernel only reads it. The
        // descriptor is open while `sock` lives.
        let rc = unsafe {
            bind(
                sock.fd.as_raw_fd(),
                (&addr as *const SockaddrNl).cast::<c_void>(),
                std::mem::size_of::<SockaddrNl>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(sock)
    }

    /// Joins multicast group `group` (`NETLINK_ADD_MEMBERSHIP`).
    pub fn join(&self, group: u32) -> io::Result<()> {
        let value: u32 = group;
        // SAFETY: `value` lives on the stack for the whole call and is exactly 4 octets,
        // the size passed; the kernel only reads it. The descriptor is open while `self`
        // is borrowed.
        let rc = unsafe {
            setsockopt(
                self.fd.as_raw_fd(),
                SOL_NETLINK,
                NETLINK_ADD_MEMBERSHIP,
                (&value as *const u32).cast::<c_void>(),
                std::mem::size_of::<u32>() as u32,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends one datagram to the kernel (the socket's default destination).
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: `msg` is valid for reads of `msg.len()` octets for the whole call; the
        // descriptor is open while `self` is borrowed.
        let n = unsafe {
            send(
                self.fd.as_raw_fd(),
                msg.as_ptr().cast::<c_void>(),
                msg.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receives one datagram into `buf`, retrying on `EINTR`; its length (cut to
    /// `buf.len()`). `ENOBUFS` says the socket overran and messages were lost.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` octets for the whole call and
            // the kernel writes at most that many; the descriptor is open while `self` is
            // borrowed.
            let n = unsafe {
                recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast::<c_void>(),
                    buf.len(),
                    0,
                )
            };
            if n >= 0 {
                return Ok((n as usize).min(buf.len()));
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// The name of interface `index` in this network namespace, if it has one.
pub fn ifname(index: u32) -> Option<String> {
    let mut buf = [0u8; IF_NAMESIZE];
    // SAFETY: `buf` holds IF_NAMESIZE octets, as if_indextoname(3) requires, and lives for
    // the whole call; the call writes a NUL-terminated name of at most that size into it or
    // returns NULL.
    let p = unsafe { if_indextoname(index, buf.as_mut_ptr().cast::<c_char>()) };
    if p.is_null() {
        return None;
    }
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf8(buf[..end].to_vec()).ok()
}

/// `getsockopt(sock, level, name)` into `buf`, which holds the request on the way in;
/// returns the length the kernel answered with.
pub fn get_option(sock: &UdpSocket, level: i32, name: i32, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = u32::try_from(buf.len()).map_err(|_| io::Error::from_raw_os_error(22))?;
    // SAFETY: `buf` is valid for writes of `len` bytes (its own length) for the whole
    // call, `len` is a valid `socklen_t` the call may update, and the descriptor stays
    // open while `sock` is borrowed.
    let rc = unsafe {
        getsockopt(
            sock.as_raw_fd(),
            level,
            name,
            buf.as_mut_ptr().cast::<c_void>(),
            &mut len,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((len as usize).min(buf.len()))
}

/// `setsockopt(sock, level, name, &value, sizeof(int))`.
pub fn set_int_option(sock: &UdpSocket, level: i32, name: i32, value: i32) -> io::Result<()> {
    let value: c_int = value;
    // SAFETY: `value` lives on the stack for the whole call and is exactly
    // `size_of::<c_int>()` bytes long; the kernel only reads it. The descriptor stays
    // open while `sock` is borrowed.
    let rc = unsafe {
        setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const c_int).cast::<c_void>(),
            std::mem::size_of::<c_int>() as u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
