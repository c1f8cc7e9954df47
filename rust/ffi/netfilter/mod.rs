// SPDX-License-Identifier: GPL-2.0

//! Netfilter hooks of one network namespace, and the view of a packet they get.

mod packet;

pub(crate) use packet::{
    Packet,
    Rerouted,
    Transport, //
};

use core::{
    marker::PhantomData,
    ptr, //
};

use kernel::{
    bindings,
    error::to_result,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    types::Opaque, //
};

use super::{
    bindings as local,
    net::{
        Net,
        NetState,
        Started, //
    },
    route::RouteCache, //
};
use crate::logic::{
    icmp_error,
    tcp, //
};

/// Where in the stack a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookPoint {
    /// Locally generated packets (the draft's `ip_output`).
    LocalOut,
    /// Forwarded packets (the draft's `ip_forwarding`).
    Forward,
    /// Packets for this host (IPv4 only): where the draft's ICMP type 41 arrives.
    LocalIn,
    /// Locally generated packets before routing by source (IPv4 only): moved
    /// connections get the addresses of the pair they use on the wire.
    Egress,
    /// Arriving packets before conntrack and routing (IPv4 only): moved connections get
    /// their sockets' addresses back.
    Ingress,
}

/// What a hook does with a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Let it continue (with whatever route the hook gave it).
    Accept,
    /// Drop it; a local sender gets `error` from its send call.
    Drop(Error),
}

impl Verdict {
    fn into_raw(self) -> c_uint {
        match self {
            Verdict::Accept => bindings::NF_ACCEPT,
            // `NF_DROP_ERR`: the errno (positive) in the upper half.
            Verdict::Drop(e) => (((-e.to_errno()) as c_uint) << 16) | bindings::NF_DROP,
        }
    }
}

/// The packet handlers of one namespace.
pub(crate) trait NetHooks: Sync {
    /// Handles an IPv4 packet at `point`.
    fn ipv4(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict;
    /// Handles an IPv6 packet at `point`.
    fn ipv6(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict;
    /// Whether the hook at `point` (IPv6 if `ipv6`) is needed while the [`LazyHooks`]
    /// users of bits `users` want hooks: only those are registered, so that a packet
    /// passes no hook that has nothing to do for it.
    fn needed(point: HookPoint, ipv6: bool, users: u32) -> bool;
    /// A user of the hooks changed what the handler acts on (see [`LazyHooks::notify`]).
    /// Called under the hooks' lock: must not ask for hooks.
    fn changed(&self) {}
}

/// What a feature may do with its namespace's hooks: say that it wants them (by its bit,
/// see `crate::hook_user`) and that what the handler acts on changed. Features hold an
/// `Arc<dyn HookUsers>`, never the namespace's state, so that they do not depend on the
/// module that composes them.
pub(crate) trait HookUsers: Send + Sync {
    /// Records whether user `bit` wants the hooks (see [`LazyHooks::want`]).
    fn want(&self, bit: u32, on: bool) -> Result;
    /// Tells the handler that what it acts on changed (see [`LazyHooks::notify`]).
    fn notify(&self);
}

impl<T: NetHooks> HookUsers for LazyHooks<T> {
    fn want(&self, bit: u32, on: bool) -> Result {
        LazyHooks::want(self, bit, on)
    }

    fn notify(&self) {
        LazyHooks::notify(self)
    }
}

/// Routing hooks run after the mangle (-150), NAT (-100), filter (0) and security (50)
/// tables: NAT and mangle re-route packets themselves and would undo our route, and there
/// is no point routing a packet that the filter drops.
const ROUTING_PRIORITY: c_int = 100;
/// The type-41 receiver runs after defragmentation (-400) and before conntrack (-200) and
/// the filter table, which would see an ICMP type they do not know as invalid.
const LOCAL_IN_PRIORITY: c_int = -250;
/// Address translation of moved connections on the way out runs after conntrack (-200)
/// and destination NAT (-100), so that both see the socket's own tuple, and before the
/// routing hook, which then routes by the translated source.
const EGRESS_PRIORITY: c_int = -50;
/// On the way in it runs after defragmentation (-400) and before conntrack (-200).
const INGRESS_PRIORITY: c_int = -300;

/// The number of hooks registered per namespace.
const NUM_HOOKS: usize = 10;

/// Hook points, families and priorities, in the order of the registered `nf_hook_ops`.
const HOOKS: [(u8, c_uint, HookPoint, c_int); NUM_HOOKS] = [
    (
        bindings::NFPROTO_IPV4 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
        HookPoint::LocalOut,
        ROUTING_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV4 as u8,
        bindings::nf_inet_hooks_NF_INET_FORWARD,
        HookPoint::Forward,
        ROUTING_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV4 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_IN,
        HookPoint::LocalIn,
        LOCAL_IN_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV4 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
        HookPoint::Egress,
        EGRESS_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV4 as u8,
        bindings::nf_inet_hooks_NF_INET_PRE_ROUTING,
        HookPoint::Ingress,
        INGRESS_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV6 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
        HookPoint::LocalOut,
        ROUTING_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV6 as u8,
        bindings::nf_inet_hooks_NF_INET_FORWARD,
        HookPoint::Forward,
        ROUTING_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV6 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_IN,
        HookPoint::LocalIn,
        LOCAL_IN_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV6 as u8,
        bindings::nf_inet_hooks_NF_INET_LOCAL_OUT,
        HookPoint::Egress,
        EGRESS_PRIORITY,
    ),
    (
        bindings::NFPROTO_IPV6 as u8,
        bindings::nf_inet_hooks_NF_INET_PRE_ROUTING,
        HookPoint::Ingress,
        INGRESS_PRIORITY,
    ),
];

/// One of the [`HOOKS`] in one namespace, calling `T`.
///
/// # Invariants
///
/// While `registered`, `op` is registered in `net` with `priv` pointing to a `T` that
/// outlives the registration; it is unregistered exactly once, by
/// [`HookRegistration::unregister`] or on drop. The memory of `op` is released only an
/// RCU grace period after it was unregistered (netfilter's hook dumps read the ops under
/// RCU, and a packet may still be inside the hook).
#[pin_data(PinnedDrop)]
pub(crate) struct HookRegistration<T: NetHooks> {
    #[pin]
    op: Opaque<local::nf_hook_ops>,
    net: *mut bindings::net,
    registered: bool,
    _handler: PhantomData<*const T>,
}

// SAFETY: unregistering from any thread is fine; the raw pointers are only handed to C.
unsafe impl<T: NetHooks> Send for HookRegistration<T> {}
// SAFETY: `&self` offers nothing.
unsafe impl<T: NetHooks> Sync for HookRegistration<T> {}

impl<T: NetHooks> HookRegistration<T> {
    /// Registers hook `HOOKS[index]` of `net`, calling `handler`.
    ///
    /// # Safety
    ///
    /// `handler` stays valid until the registration is dropped, and `net` outlives it.
    pub(crate) unsafe fn register(
        net: &Net,
        handler: *const T,
        index: usize,
    ) -> impl PinInit<Self, Error> {
        let net = net.as_raw();
        try_pin_init!(Self {
            op <- Opaque::try_ffi_init(move |slot: *mut local::nf_hook_ops| {
                let (pf, hooknum, point, priority) = *HOOKS.get(index).ok_or(EINVAL)?;
                let mut op = local::nf_hook_ops {
                    hook: trampoline_for::<T>(point),
                    priv_: handler.cast_mut().cast(),
                    pf,
                    hooknum,
                    priority,
                    ..Default::default()
                };
                op.set_hook_ops_type(0);
                // SAFETY: `slot` is valid for writes (initialiser contract).
                unsafe { slot.write(op) };
                // SAFETY: `net` is alive, `slot` holds an initialised op that stays pinned
                // until `PinnedDrop` unregisters it, and `handler` outlives it (caller's
                // promise).
                // INVARIANT: on success the hook is registered.
                to_result(unsafe { local::nf_register_net_hooks(net, slot, 1) })
            }),
            net,
            registered: true,
            _handler: PhantomData,
        })
    }

    /// Unregisters the hook without waiting: packets already inside it may still run,
    /// so the caller waits a grace period (`synchronize_net`) before it drops `self` or
    /// frees what `priv` points to.
    fn unregister(self: Pin<&mut Self>) {
        // SAFETY: `registered` is not structurally pinned; nothing moves.
        let this = unsafe { self.get_unchecked_mut() };
        if core::mem::replace(&mut this.registered, false) {
            // SAFETY: registered in `net` (type invariant), and unregistered once: the
            // flag is cleared first.
            unsafe { local::nf_unregister_net_hooks(this.net, this.op.get(), 1) };
        }
    }
}

#[pinned_drop]
impl<T: NetHooks> PinnedDrop for HookRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        if self.registered {
            self.unregister();
            // The hook's ops live in `self`: keep them until no reader can see them.
            // SAFETY: no preconditions; hooks are dropped in process context.
            unsafe { local::synchronize_net() };
        }
    }
}

/// The `nf_hookfn` for hooks at `point`: two hooks share LOCAL_OUT, so the point is
/// part of the function rather than read from the hook state.
fn trampoline_for<T: NetHooks>(point: HookPoint) -> local::nf_hookfn {
    Some(match point {
        HookPoint::LocalOut => hook_trampoline::<T, { HookPoint::LocalOut as u8 }>,
        HookPoint::Forward => hook_trampoline::<T, { HookPoint::Forward as u8 }>,
        HookPoint::LocalIn => hook_trampoline::<T, { HookPoint::LocalIn as u8 }>,
        HookPoint::Egress => hook_trampoline::<T, { HookPoint::Egress as u8 }>,
        HookPoint::Ingress => hook_trampoline::<T, { HookPoint::Ingress as u8 }>,
    })
}

impl HookPoint {
    /// The netfilter hook it runs at, by nftables' name; the translation of moved
    /// connections is told apart from the routing hook sharing `output`.
    fn name(self) -> &'static str {
        match self {
            HookPoint::LocalOut => "output",
            HookPoint::Forward => "forward",
            HookPoint::LocalIn => "input",
            HookPoint::Egress => "output-translate",
            HookPoint::Ingress => "prerouting-translate",
        }
    }

    const ALL: [HookPoint; 5] = [
        HookPoint::LocalOut,
        HookPoint::Forward,
        HookPoint::LocalIn,
        HookPoint::Egress,
        HookPoint::Ingress,
    ];
}

/// The `nf_hookfn` of every registration for `T` at hook point number `POINT`.
///
/// # Safety
///
/// Called by netfilter with the `priv` of one of our `nf_hook_ops`, a live packet and the
/// hook state.
unsafe extern "C" fn hook_trampoline<T: NetHooks, const POINT: u8>(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const local::nf_hook_state,
) -> c_uint {
    // SAFETY: `priv` is the handler given at registration, valid while it lasts.
    let handler = unsafe { &*priv_.cast::<T>() };
    // SAFETY: the state is valid for the call; its namespace is alive.
    let (net, pf) = unsafe { ((*state).net, (*state).pf) };
    // SAFETY: `net` is alive for the duration of the call.
    let net = unsafe { Net::from_raw(net) };
    let point = HookPoint::ALL[usize::from(POINT)];
    // SAFETY: netfilter hands us a packet it owns for the call, with a valid header of
    // family `pf`.
    let mut packet = unsafe { Packet::from_hook(skb, net, point) };
    let verdict = if u32::from(pf) == bindings::NFPROTO_IPV6 {
        handler.ipv6(point, &mut packet)
    } else {
        handler.ipv4(point, &mut packet)
    };
    verdict.into_raw()
}

/// The withdrawal [`LazyHooks::attach_started`] registers.
///
/// # Safety
///
/// `data` points to a live `LazyHooks<T>`.
unsafe fn detach_erased<T: NetHooks>(data: *const c_void) {
    // SAFETY: the caller passes a live `LazyHooks<T>`.
    unsafe { &*data.cast::<LazyHooks<T>>() }.detach();
}

/// The hooks of one namespace, each registered only while a user that needs it wants
/// hooks ([`NetHooks::needed`]): a namespace without domains pays nothing per packet, and
/// a forwarded packet passes the address translation of moved connections only while
/// some are tracked.
///
/// # Invariants
///
/// While `handler` is set, it points to a `T` that stays valid (the contract of
/// [`LazyHooks::attach`]); hooks are registered only while it is set.
#[pin_data]
pub(crate) struct LazyHooks<T: NetHooks> {
    #[pin]
    state: kernel::sync::Mutex<LazyState<T>>,
}

pub(crate) struct LazyState<T: NetHooks> {
    handler: *const T,
    net: *mut bindings::net,
    /// One bit per user that wants the hooks.
    wanted: u32,
    /// By index into [`HOOKS`].
    hooks: [Option<Pin<KBox<HookRegistration<T>>>>; NUM_HOOKS],
}

// SAFETY: the raw pointers are only handed to C under the mutex; `T: Sync`.
unsafe impl<T: NetHooks> Send for LazyState<T> {}

impl<T: NetHooks> LazyHooks<T> {
    /// Detached, wanted by nobody.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            state <- kernel::new_mutex!(LazyState {
                handler: core::ptr::null(),
                net: core::ptr::null_mut(),
                wanted: 0,
                hooks: [const { None }; NUM_HOOKS],
            }),
        })
    }

    /// From now on the hooks call `handler` in `net` when wanted; registers them if they
    /// are wanted already.
    ///
    /// # Safety
    ///
    /// `handler` stays valid, and `net` alive, until [`LazyHooks::detach`] returns.
    pub(crate) unsafe fn attach(&self, net: &Net, handler: *const T) -> Result {
        let mut state = self.state.lock();
        // INVARIANT: the caller keeps `handler` valid until `detach`.
        state.handler = handler;
        state.net = net.as_raw();
        Self::sync(&mut state)
    }

    /// From now on the hooks call the state being started, `started.state()`, when wanted
    /// (registered at once if wanted already), until the namespace machinery detaches them
    /// before it stops the state, or when `start` fails.
    pub(crate) fn attach_started<'a>(&'a self, started: &Started<'a, T>) -> Result
    where
        T: NetState,
    {
        // Recorded first: an attach that fails half-way is detached too.
        // SAFETY: `self` is valid for `'a` (the borrow), which lasts until the withdrawal
        // (the `Started` contract); `detach_erased::<T>` takes a `LazyHooks<T>`.
        unsafe { started.on_withdraw(ptr::from_ref(self).cast(), detach_erased::<T>) }?;
        // SAFETY: the handler, the started state, stays valid until the withdrawal has run
        // `detach` and an RCU grace period more (the `Started` contract); `net` is its
        // namespace, which outlives it.
        unsafe { self.attach(started.net(), started.state()) }
    }

    /// Unregisters the hooks and forgets the handler. Packets may still be inside a hook
    /// when this returns: the handler must stay valid for an RCU grace period more (the
    /// per-namespace state is freed in pernet `exit`, a grace period after `pre_exit`).
    pub(crate) fn detach(&self) {
        let mut state = self.state.lock();
        state.handler = core::ptr::null();
        state.net = core::ptr::null_mut();
        Self::sync(&mut state).ok();
    }

    /// Tells the attached handler, if any, that what it acts on changed
    /// ([`NetHooks::changed`]): the users of the hooks (the features) reach the
    /// namespace's state only through here.
    pub(crate) fn notify(&self) {
        let state = self.state.lock();
        if state.handler.is_null() {
            return;
        }
        // SAFETY: a non-null handler stays valid until `detach`, which takes this lock
        // (the `attach` contract).
        unsafe { &*state.handler }.changed();
    }

    /// Records whether user `bit` wants the hooks, and registers or unregisters them to
    /// match. On error (registration failed) nothing changes.
    pub(crate) fn want(&self, bit: u32, on: bool) -> Result {
        let mut state = self.state.lock();
        let before = state.wanted;
        if on {
            state.wanted |= 1 << bit;
        } else {
            state.wanted &= !(1 << bit);
        }
        let result = Self::sync(&mut state);
        if result.is_err() {
            state.wanted = before;
            // Back to the hooks `before` needs: only unregistering, which cannot fail.
            let _ = Self::sync(&mut state);
        }
        result
    }

    /// One line for `/proc/net/sitemh`: `hooks` and the hooks registered now (`ip:forward`,
    /// ...), or `-`.
    pub(crate) fn show(&self, m: &SeqFile) {
        let state = self.state.lock();
        seq_print!(m, "hooks");
        let mut any = false;
        for (hook, &(pf, _, point, _)) in state.hooks.iter().zip(HOOKS.iter()) {
            if hook.is_some() {
                let family = if u32::from(pf) == bindings::NFPROTO_IPV6 {
                    "ip6"
                } else {
                    "ip"
                };
                seq_print!(m, " {}:{}", family, point.name());
                any = true;
            }
        }
        seq_print!(m, "{}\n", if any { "" } else { " -" });
    }

    /// Registers the hooks the users want and unregisters the others; those are freed
    /// together after one grace period.
    fn sync(state: &mut LazyState<T>) -> Result {
        let attached = !state.handler.is_null();
        let mut gone: [Option<Pin<KBox<HookRegistration<T>>>>; NUM_HOOKS] =
            [const { None }; NUM_HOOKS];
        for (index, slot) in state.hooks.iter_mut().enumerate() {
            let Some(&(pf, _, point, _)) = HOOKS.get(index) else {
                continue;
            };
            let ipv6 = u32::from(pf) == bindings::NFPROTO_IPV6;
            if !(attached && T::needed(point, ipv6, state.wanted)) {
                if let (Some(mut hook), Some(out)) = (slot.take(), gone.get_mut(index)) {
                    hook.as_mut().unregister();
                    *out = Some(hook);
                }
            }
        }
        if gone.iter().any(Option::is_some) {
            // SAFETY: no preconditions; called in process context under a mutex.
            unsafe { local::synchronize_net() };
            drop(gone);
        }
        for (index, &(pf, _, point, _)) in HOOKS.iter().enumerate() {
            let ipv6 = u32::from(pf) == bindings::NFPROTO_IPV6;
            let wanted = attached && T::needed(point, ipv6, state.wanted);
            let (handler, net) = (state.handler, state.net);
            let Some(slot) = state.hooks.get_mut(index) else {
                continue;
            };
            if wanted && slot.is_none() {
                // SAFETY: `handler` is valid until `detach` (type invariant), which drops
                // the registrations first; `net` is alive as long.
                let hook =
                    unsafe { HookRegistration::register(Net::from_raw(net), handler, index) };
                *slot = Some(KBox::pin_init(hook, GFP_KERNEL)?);
            } else if !wanted {
                *slot = None;
            }
        }
        Ok(())
    }
}
