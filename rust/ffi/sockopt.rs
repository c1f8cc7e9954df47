// SPDX-License-Identifier: GPL-2.0

//! Socket options served by the module (`nf_register_sockopt`).
//!
//! A module cannot add system calls nor `SOL_SOCKET` options; netfilter lets it answer
//! `getsockopt` at level `IPPROTO_IP` / `IPPROTO_IPV6` for a range of option numbers that
//! the IP layer does not know. That is how the draft's calls reach the module.

use core::marker::PhantomData;

use kernel::{
    bindings,
    error::to_result,
    ffi::{
        c_int,
        c_uint,
        c_void, //
    },
    prelude::*,
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
    ThisModule,
};

use super::{
    bindings as local,
    net::{
        state_of,
        Net,
        NetState,
        NetStateRegistration, //
    },
    sock::SockRef,
};

/// The socket a `getsockopt` / `setsockopt` call came in on.
///
/// # Invariants
///
/// `sk` is a live socket for the duration of the call, `'a`.
pub(crate) struct Socket<'a> {
    /// Its namespace.
    pub(crate) net: &'a Net,
    /// Its TOS (IPv4) or traffic class (IPv6): the draft's "type of service".
    pub(crate) tos: u8,
    sk: *mut bindings::sock,
}

impl Socket<'_> {
    /// A reference on the socket, to keep state for it beyond the call.
    pub(crate) fn hold(&self) -> Option<SockRef> {
        // SAFETY: `sk` is live for the call (type invariant).
        unsafe { SockRef::new(self.sk) }
    }

    /// Whether `socket` is a reference on this socket.
    pub(crate) fn is(&self, socket: &SockRef) -> bool {
        socket.is(self.sk)
    }

    /// The socket's identity, as [`SockRef::id`] gives it for a reference on it.
    pub(crate) fn id(&self) -> usize {
        self.sk as usize
    }
}

/// The most octets a `setsockopt` of sitemh takes.
pub(crate) const MAX_SET_LEN: usize = 512;

/// What answers `getsockopt` for one protocol family's level.
pub(crate) trait GetSockopt: 'static {
    /// The per-namespace state the answers come from.
    type State: NetState;

    /// Answers option `optname` on `socket`, whose namespace has `state`: reads the
    /// request from `buf` and writes the answer into it; returns the number of bytes
    /// written (the new `optlen`).
    fn get(state: &Self::State, socket: &Socket<'_>, optname: i32, buf: UserSlice)
        -> Result<usize>;

    /// Sets option `optname` on `socket` to `value` (at most [`MAX_SET_LEN`] octets).
    fn set(state: &Self::State, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result;
}

/// A range of `getsockopt` option numbers of level `PF` (`NFPROTO_IPV4`/`NFPROTO_IPV6`)
/// answered by `T`.
///
/// # Invariants
///
/// `ops` is registered with `nf_register_sockopt` and unregistered exactly once, on drop.
#[pin_data(PinnedDrop)]
pub(crate) struct SockoptRegistration<T: GetSockopt, const PF: u8> {
    #[pin]
    ops: Opaque<local::nf_sockopt_ops>,
    _handler: PhantomData<T>,
}

// SAFETY: the registration owns no thread-bound data; it may be dropped on any thread.
unsafe impl<T: GetSockopt, const PF: u8> Send for SockoptRegistration<T, PF> {}
// SAFETY: `&self` offers no methods.
unsafe impl<T: GetSockopt, const PF: u8> Sync for SockoptRegistration<T, PF> {}

impl<T: GetSockopt, const PF: u8> SockoptRegistration<T, PF> {
    /// Registers option numbers `first..end`; fails with `EBUSY` if another user of
    /// netfilter's socket options owns any of them.
    ///
    /// # Safety
    ///
    /// `T::State` stays registered (its `NetStateRegistration` alive) for as long as the
    /// returned registration exists: calls reach the state of the caller's namespace.
    pub(crate) unsafe fn register(
        first: i32,
        end: i32,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ops <- Opaque::try_ffi_init(|slot: *mut local::nf_sockopt_ops| {
                // SAFETY: `slot` is valid for writes (initialiser contract); an all-zero
                // `nf_sockopt_ops` is valid (no set handler, empty list head).
                unsafe {
                    slot.write(core::mem::zeroed());
                    (*slot).pf = PF;
                    (*slot).get_optmin = first;
                    (*slot).get_optmax = end;
                    (*slot).get = Some(get_trampoline::<T, PF>);
                    (*slot).set_optmin = first;
                    (*slot).set_optmax = end;
                    (*slot).set = Some(set_trampoline::<T, PF>);
                    (*slot).owner = module.as_ptr();
                }
                // SAFETY: `slot` is initialised and stays pinned until `PinnedDrop`.
                // INVARIANT: registered on success.
                to_result(unsafe { local::nf_register_sockopt(slot) })
            }),
            _handler: PhantomData,
        })
    }
}

#[pinned_drop]
impl<T: GetSockopt, const PF: u8> PinnedDrop for SockoptRegistration<T, PF> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered (type invariant). Calls in flight hold a reference on the
        // module (`owner`), so none runs once the module is being removed.
        unsafe { local::nf_unregister_sockopt(self.ops.get()) };
    }
}

/// netfilter's protocol numbers for socket options of level `IPPROTO_IP` / `IPPROTO_IPV6`.
pub(crate) const NFPROTO_IPV4: u8 = bindings::NFPROTO_IPV4 as u8;
pub(crate) const NFPROTO_IPV6: u8 = bindings::NFPROTO_IPV6 as u8;

/// A per-namespace state type, registered, with the socket options of both families that
/// answer from it: the registration [`SockoptRegistration::register`] asks for, made safe
/// by owning both ends. Fields drop in declaration order, so the options go before the
/// state they read; they are initialised after it.
#[pin_data]
pub(crate) struct ServedNetState<V4, V6>
where
    V4: GetSockopt,
    V6: GetSockopt<State = V4::State>,
{
    #[pin]
    sockopt_v4: SockoptRegistration<V4, NFPROTO_IPV4>,
    #[pin]
    sockopt_v6: SockoptRegistration<V6, NFPROTO_IPV6>,
    #[pin]
    netns: NetStateRegistration<V4::State>,
}

impl<V4, V6> ServedNetState<V4, V6>
where
    V4: GetSockopt,
    V6: GetSockopt<State = V4::State>,
{
    /// Registers the state type, then option numbers `first..end` at both levels.
    pub(crate) fn register(
        first: i32,
        end: i32,
        module: &'static ThisModule,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            netns <- NetStateRegistration::register(),
            // SAFETY: `netns`, initialised first, is dropped after the socket options
            // (declared before it); on a failed initialisation the fields initialised so
            // far are dropped in reverse order, the options first.
            sockopt_v4 <- unsafe { SockoptRegistration::register(first, end, module) },
            // SAFETY: as above.
            sockopt_v6 <- unsafe { SockoptRegistration::register(first, end, module) },
        })
    }
}

/// The `get` callback.
///
/// # Safety
///
/// Called by netfilter with a live socket `sk`, a user pointer and a valid `len`.
unsafe extern "C" fn get_trampoline<T: GetSockopt, const PF: u8>(
    sk: *mut bindings::sock,
    optname: c_int,
    user: *mut c_void,
    len: *mut c_int,
) -> c_int {
    // SAFETY: `sk` is a live socket for the duration of the call.
    let (net, tos) = unsafe { (local::sitemh_sock_net(sk), local::sitemh_sock_tos(sk)) };
    // SAFETY: a socket's namespace outlives the socket.
    let net = unsafe { Net::from_raw(net) };
    // SAFETY: `T::State` is registered while this registration exists (the contract of
    // `register`), and a namespace that has sockets has its state started.
    let state = unsafe { state_of::<T::State>(net) };
    // SAFETY: `len` is a valid kernel pointer (netfilter read it from user space).
    let avail = unsafe { *len };
    let Ok(avail) = usize::try_from(avail) else {
        return EINVAL.to_errno();
    };
    let buf = UserSlice::new(UserPtr::from_ptr(user), avail);
    // INVARIANT: `sk` is live for the call.
    match T::get(state, &Socket { net, tos, sk }, optname, buf) {
        Ok(written) => {
            // `written` never exceeds `avail`, which came from a `c_int`.
            // SAFETY: see above.
            unsafe { *len = written.min(avail) as c_int };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// The `set` callback.
///
/// # Safety
///
/// Called by netfilter with a live socket `sk` and `len` octets readable at `arg`.
unsafe extern "C" fn set_trampoline<T: GetSockopt, const PF: u8>(
    sk: *mut bindings::sock,
    optname: c_int,
    arg: bindings::sockptr_t,
    len: c_uint,
) -> c_int {
    let Ok(len) = usize::try_from(len) else {
        return EINVAL.to_errno();
    };
    if len > MAX_SET_LEN {
        return EINVAL.to_errno();
    }
    let mut value = [0u8; MAX_SET_LEN];
    // SAFETY: `arg` has `len` readable octets (netfilter's contract); `value` has room.
    if let Err(e) = to_result(unsafe {
        local::sitemh_copy_from_sockptr(value.as_mut_ptr(), arg, len as c_uint)
    }) {
        // A partial copy may hold part of a secret.
        // SAFETY: `value` has `MAX_SET_LEN` writable octets.
        unsafe { local::sitemh_memzero_explicit(value.as_mut_ptr().cast(), MAX_SET_LEN) };
        return e.to_errno();
    }
    // SAFETY: `sk` is a live socket for the duration of the call.
    let (net, tos) = unsafe { (local::sitemh_sock_net(sk), local::sitemh_sock_tos(sk)) };
    // SAFETY: a socket's namespace outlives the socket.
    let net = unsafe { Net::from_raw(net) };
    // SAFETY: as in `get_trampoline`.
    let state = unsafe { state_of::<T::State>(net) };
    // INVARIANT: `sk` is live for the call.
    let result = T::set(state, &Socket { net, tos, sk }, optname, &value[..len]);
    // The value may be key material (`SITEMH_SO_SEQPARAM`): it does not stay on the stack.
    // SAFETY: `value` has `MAX_SET_LEN` writable octets.
    unsafe { local::sitemh_memzero_explicit(value.as_mut_ptr().cast(), MAX_SET_LEN) };
    match result {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
