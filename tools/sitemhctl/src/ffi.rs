//! The only `unsafe` of sitemhctl: `getsockopt(2)` and `setsockopt(2)` on a socket std
//! opened, for the module's socket options (std has no call for either). Declared here
//! rather than taken from a crate, so that the tool has no dependencies.

use std::io;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::os::raw::c_int;
use std::os::raw::c_void;

extern "C" {
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut u32) -> c_int;
    fn setsockopt(fd: c_int, level: c_int, name: c_int, val: *const c_void, len: u32) -> c_int;
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
