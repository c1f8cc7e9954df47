// SPDX-License-Identifier: GPL-2.0

//! Each domain's route to its default router, cached for the packet path
//! (`struct sitemh_route_cache`, `glue_route.c`).

use core::ptr::NonNull;

use kernel::{bindings, prelude::*};

use super::{bindings as local, net::Net};

/// The route of the plain flow to one domain's router, published under RCU.
///
/// A rerouted packet carries the cached route without taking a reference (as the input
/// path's routes are carried), so the packet path touches no shared counter. The kernel
/// revalidates the route on every use (`dst->ops->check`), so a route invalidated by a
/// routing change or a device going down is looked up afresh.
///
/// # Invariants
///
/// `ptr` came from `sitemh_route_cache_new` and is freed exactly once, on drop.
pub(crate) struct RouteCache {
    ptr: NonNull<local::sitemh_route_cache>,
}

// SAFETY: the cache's writers serialise on its spinlock and its readers use RCU; the glue
// may be called from any thread.
unsafe impl Sync for RouteCache {}
// SAFETY: the cache may be freed from any thread.
unsafe impl Send for RouteCache {}

impl RouteCache {
    /// An empty cache.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: no preconditions; process context.
        let ptr = unsafe { local::sitemh_route_cache_new() };
        // INVARIANT: allocated by `sitemh_route_cache_new`.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    /// The glue's cache, for the packet path (`sitemh_reroute4/6`).
    pub(super) fn as_ptr(&self) -> *mut local::sitemh_route_cache {
        self.ptr.as_ptr()
    }
}

impl Drop for RouteCache {
    fn drop(&mut self) {
        // SAFETY: allocated by `sitemh_route_cache_new` (type invariant); the owner drops it
        // only when no packet hook can reach it any more (a grace period after the table
        // holding it was replaced, or after the hooks were unregistered).
        unsafe { local::sitemh_route_cache_free(self.as_ptr()) };
    }
}

/// Whether a pointer returned by a route look-up encodes an error (`IS_ERR`).
fn is_err<T>(ptr: *const T) -> bool {
    ptr as usize >= (-(bindings::MAX_ERRNO as isize)) as usize
}

/// A reference-counted route (`struct dst_entry *` with one reference owned).
///
/// # Invariants
///
/// `ptr` is a valid `dst_entry` on which this value owns one reference.
pub(crate) struct Dst {
    ptr: *mut bindings::dst_entry,
}

impl Dst {
    /// A route the glue returned with one reference owned, or its error.
    fn from_glue(ptr: *mut bindings::dst_entry) -> Result<Self> {
        if ptr.is_null() || is_err(ptr) {
            return Err(EHOSTUNREACH);
        }
        // INVARIANT: the glue returns a valid route with one reference for the caller.
        Ok(Self { ptr })
    }
}

impl Drop for Dst {
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant).
        unsafe { local::dst_release(self.ptr) };
    }
}

/// The IPv4 route to `gateway` (host byte order) as a known next hop: the route's
/// gateway is `gateway` itself, whatever the packet's destination, as for `nf_dup_ipv4`.
pub(crate) fn route_via_gateway4(net: &Net, cache: &RouteCache, gateway: u32) -> Result<Dst> {
    // SAFETY: `net` is alive and the cache valid (type invariant); process or softirq
    // context.
    Dst::from_glue(unsafe {
        local::sitemh_route_cache_get4(net.as_raw(), cache.as_ptr(), gateway.to_be())
    })
}

/// The IPv6 route to `gateway` reached on `ifindex` (0: any), as a known next hop.
pub(crate) fn route_via_gateway6(
    net: &Net,
    cache: &RouteCache,
    gateway: u128,
    ifindex: i32,
) -> Result<Dst> {
    let gateway = gateway.to_be_bytes();
    // SAFETY: as for `route_via_gateway4`; `gateway` has 16 octets.
    Dst::from_glue(unsafe {
        local::sitemh_route_cache_get6(net.as_raw(), cache.as_ptr(), gateway.as_ptr(), ifindex)
    })
}
