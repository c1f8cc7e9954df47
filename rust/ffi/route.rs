// SPDX-License-Identifier: GPL-2.0

//! Route look-ups towards a known next hop, cached per CPU (`struct dst_cache`).

use core::cell::UnsafeCell;

use kernel::{
    bindings,
    error::to_result,
    prelude::*, //
};

use super::{bindings as local, net::Net};

/// A per-CPU cache of one route (`struct dst_cache`).
///
/// The kernel revalidates a cached route on every use (`dst->ops->check`), so a route
/// invalidated by a routing change or a device going down is looked up afresh.
///
/// # Invariants
///
/// `inner` was initialised by `dst_cache_init` and is destroyed exactly once, on drop.
pub(crate) struct DstCache {
    inner: UnsafeCell<local::dst_cache>,
}

// SAFETY: the cache has one slot per CPU; it is only used with bottom halves disabled
// (`with_bh_disabled`), so two users never touch the same slot at once.
unsafe impl Sync for DstCache {}
// SAFETY: the cache owns only per-CPU memory, which may be freed from any thread.
unsafe impl Send for DstCache {}

impl DstCache {
    /// An empty cache.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: an all-zero `dst_cache` is the state `dst_cache_init` expects.
        let mut inner: local::dst_cache = unsafe { core::mem::zeroed() };
        // SAFETY: `inner` is valid for writes; `dst_cache_init` allocates the per-CPU part.
        to_result(unsafe { local::dst_cache_init(&mut inner, bindings::GFP_KERNEL) })?;
        // INVARIANT: `inner` is initialised.
        Ok(Self {
            inner: UnsafeCell::new(inner),
        })
    }

    /// The kernel's cache, for the glue that routes packets by source domain.
    pub(super) fn as_ptr(&self) -> *mut local::dst_cache {
        self.inner.get()
    }
}

impl Drop for DstCache {
    fn drop(&mut self) {
        // SAFETY: `inner` is initialised (type invariant) and nobody else uses it any more.
        unsafe { local::dst_cache_destroy(self.as_ptr()) };
    }
}

/// Runs `f` with bottom halves disabled, as `dst_cache` requires.
fn with_bh_disabled<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: always allowed outside hard IRQ context; netfilter hooks and sysctl
    // handlers run in process or softirq context.
    unsafe { local::local_bh_disable() };
    let r = f();
    // SAFETY: pairs with the disable above.
    unsafe { local::local_bh_enable() };
    r
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

impl Drop for Dst {
    fn drop(&mut self) {
        // SAFETY: we own one reference (type invariant).
        unsafe { local::dst_release(self.ptr) };
    }
}

/// The IPv4 route to `gateway` (host byte order) as a known next hop: the route's
/// gateway is `gateway` itself, whatever the packet's destination, as for `nf_dup_ipv4`.
pub(crate) fn route_via_gateway4(net: &Net, cache: &DstCache, gateway: u32) -> Result<Dst> {
    with_bh_disabled(|| {
        let mut saddr: bindings::__be32 = 0;
        // SAFETY: the cache is initialised and bottom halves are disabled.
        let rt = unsafe { local::dst_cache_get_ip4(cache.as_ptr(), &mut saddr) };
        if !rt.is_null() {
            // SAFETY: the cache returned a held `rtable`, whose `dst` we now own.
            let dst = unsafe { local::sitemh_rtable_dst(rt) };
            // INVARIANT: one reference, taken by `dst_cache_get_ip4`.
            return Ok(Dst { ptr: dst });
        }
        let mut fl4 = bindings::flowi4 {
            daddr: gateway.to_be(),
            ..Default::default()
        };
        fl4.__fl_common.flowic_flags = bindings::FLOWI_FLAG_KNOWN_NH as u8;
        // SAFETY: `net` is alive and `fl4` is a valid flow.
        let rt = unsafe { local::ip_route_output_key(net.as_raw(), &mut fl4) };
        if is_err(rt) {
            return Err(EHOSTUNREACH);
        }
        // SAFETY: `rt` is a valid route with one reference owned by us.
        let dst = unsafe { local::sitemh_rtable_dst(rt) };
        // SAFETY: the cache takes its own reference to `dst`.
        unsafe { local::dst_cache_set_ip4(cache.as_ptr(), dst, fl4.saddr) };
        // INVARIANT: the reference from the look-up.
        Ok(Dst { ptr: dst })
    })
}

/// The IPv6 route to `gateway` reached on `ifindex` (0: any), as a known next hop.
pub(crate) fn route_via_gateway6(
    net: &Net,
    cache: &DstCache,
    gateway: u128,
    ifindex: i32,
) -> Result<Dst> {
    with_bh_disabled(|| {
        // SAFETY: an all-zero address is valid.
        let mut saddr: bindings::in6_addr = unsafe { core::mem::zeroed() };
        // SAFETY: the cache is initialised and bottom halves are disabled.
        let dst = unsafe { local::dst_cache_get_ip6(cache.as_ptr(), &mut saddr) };
        if !dst.is_null() {
            // INVARIANT: one reference, taken by `dst_cache_get_ip6`.
            return Ok(Dst { ptr: dst });
        }
        let mut fl6 = bindings::flowi6::default();
        fl6.daddr.in6_u.u6_addr8 = gateway.to_be_bytes();
        fl6.__fl_common.flowic_oif = ifindex;
        fl6.__fl_common.flowic_flags = bindings::FLOWI_FLAG_KNOWN_NH as u8;
        // SAFETY: `net` is alive and `fl6` is a valid flow; no socket is involved.
        let dst =
            unsafe { local::ip6_route_output_flags(net.as_raw(), core::ptr::null(), &mut fl6, 0) };
        // INVARIANT: `ip6_route_output_flags` always returns a held route, maybe an
        // error route; `Dst` releases it on the error path too.
        let dst = Dst { ptr: dst };
        // SAFETY: `dst.ptr` is valid.
        if unsafe { local::sitemh_dst_error(dst.ptr) } != 0 {
            return Err(EHOSTUNREACH);
        }
        // SAFETY: the cache takes its own reference.
        unsafe { local::dst_cache_set_ip6(cache.as_ptr(), dst.ptr, &fl6.saddr) };
        Ok(dst)
    })
}
