// SPDX-License-Identifier: GPL-2.0

//! What sitemh keeps in every network namespace, and its packet hooks.
//!
//! Each namespace has its own IP domains, set through sysctl nodes named after the draft's
//! `IPCTL_*` identifiers, so a router and a host simulated in two namespaces of one machine
//! are configured independently.

#![forbid(unsafe_code)]

use kernel::{prelude::*, seq_file::SeqFile, seq_print, sync::Arc};

use crate::{
    domains::{
        Counted,
        FamilyKnob,
        FamilyState,
        Snapshot, //
    },
    family::{
        Family,
        V4,
        V6, //
    },
    ffi::{
        net::{
            Net,
            NetId,
            NetState,
            Started, //
        },
        netdev::{
            DeviceBatch,
            NetdevEvents,
            NetdevNotifier, //
        },
        netfilter::{
            HookPoint,
            LazyHooks,
            NetHooks,
            Packet,
            Rerouted,
            Verdict, //
        },
        proc::{
            self,
            ProcShow, //
        },
        sysctl::NetSysctlText,
    },
    home::{
        Home,
        HomeKnob,
        StackPath, //
    },
    hook_user::{
        self,
        Hooks, //
    },
    linkfail::{
        CeKnob,
        HostFamily,
        LinkFail, //
    },
    logic::{
        domain::Route,
        ipv6, //
    },
    switchover::{
        LfKnob,
        SwitchFamily,
        Switchover, //
    },
};

/// The kernel's slot number for [`SitemhNet`].
static SITEMH_NET_ID: NetId = NetId::new();

/// The per-namespace state of sitemh.
pub(crate) struct SitemhNet {
    v4: Arc<FamilyState<V4>>,
    v6: Arc<FamilyState<V6>>,
    /// Link-failure notices: the CE role and the receiving side.
    linkfail: Arc<LinkFail>,
    /// Moving live connections off failed links, per family.
    switchover: Arc<Switchover<V4>>,
    switchover6: Arc<Switchover<V6>>,
    /// Home addresses and address stacking.
    home4: Arc<Home<V4>>,
    home6: Arc<Home<V6>>,
    /// `net.ipv{4,6}.sitemh_home.*`; dropped with the family knobs.
    home_knobs4: Option<NetSysctlText<HomeKnob<V4>>>,
    home_knobs6: Option<NetSysctlText<HomeKnob<V6>>>,
    /// `net.ipv4.sitemh_ce.*`; dropped with the family knobs.
    ce_knobs: Option<NetSysctlText<CeKnob>>,
    /// `net.ipv4.sitemh_lf.*`; dropped with the family knobs.
    lf_knobs: Option<NetSysctlText<LfKnob>>,
    /// `net.ipv6.sitemh_lf.auto`; dropped with the family knobs.
    lf6_knobs: Option<NetSysctlText<LfKnob>>,
    /// The family knobs (`ip_num_domains`, ...); taken first on drop so that no node appears
    /// while the nodes are removed.
    family_knobs_v4: Option<NetSysctlText<FamilyKnob<V4>>>,
    family_knobs_v6: Option<NetSysctlText<FamilyKnob<V6>>>,
    /// The packet hooks: attached while the state is started, registered while a family
    /// has domains.
    packet_hooks: Arc<LazyHooks<SitemhNet>>,
}

impl NetState for SitemhNet {
    const ID: &'static NetId = &SITEMH_NET_ID;

    fn init(net: &Net) -> Result<Self> {
        let packet_hooks = Arc::pin_init(LazyHooks::new(), GFP_KERNEL)?;
        // What the features get: a handle to ask for hooks, not this state.
        let hooks: Hooks = packet_hooks.clone();
        let v4 = FamilyState::new(net, hooks.clone())?;
        let v6 = FamilyState::new(net, hooks.clone())?;
        let linkfail = LinkFail::new(net, hooks.clone())?;
        let switchover = Switchover::new(net, v4.clone(), linkfail.clone(), hooks.clone())?;
        let switchover6 = Switchover::new(net, v6.clone(), linkfail.clone(), hooks.clone())?;
        let home4 = Home::new(net, v4.clone(), hooks.clone())?;
        let home6 = Home::new(net, v6.clone(), hooks.clone())?;
        let home_knobs4 = Some(HomeKnob::register(net, &home4)?);
        let home_knobs6 = Some(HomeKnob::register(net, &home6)?);
        let ce_knobs = Some(CeKnob::register(net, &linkfail)?);
        let lf_knobs = Some(LfKnob::register(net, &switchover, &switchover6)?);
        let lf6_knobs = Some(LfKnob::register6(net, &switchover, &switchover6)?);
        let family_knobs_v4 = Some(FamilyKnob::register(net, &v4)?);
        let family_knobs_v6 = Some(FamilyKnob::register(net, &v6)?);
        Ok(Self {
            v4,
            v6,
            linkfail,
            switchover,
            switchover6,
            home4,
            home6,
            home_knobs4,
            home_knobs6,
            ce_knobs,
            lf_knobs,
            lf6_knobs,
            family_knobs_v4,
            family_knobs_v6,
            packet_hooks,
        })
    }

    fn start(started: &Started<'_, Self>) -> Result {
        let (this, net) = (started.state(), started.net());
        this.switchover.start()?;
        this.switchover6.start()?;
        this.linkfail.start()?;
        this.home4.start()?;
        this.home6.start()?;
        this.v6.start()?;
        // The hooks and the notifier call back into the state; the namespace machinery
        // detaches and unregisters them before `stop`, or if something below fails.
        this.packet_hooks.attach_started(started)?;
        NetdevNotifier::register_started(started)?;
        proc::create::<Self>(net)
    }

    fn stop(&self, net: &Net) {
        // The hooks and the notifier are gone already (see `start`).
        proc::remove::<Self>(net);
        self.switchover.stop();
        self.switchover6.stop();
        self.linkfail.stop();
        self.home4.stop();
        self.home6.stop();
        self.v6.stop();
        // The per-domain route caches hold routes, and routes hold their devices: they go
        // now, before the namespace's devices are unregistered (pernet `exit` of the
        // devices runs before ours), which would otherwise wait for them for ever. The
        // hooks that fill the caches are gone.
        self.v4.flush_routes();
        self.v6.flush_routes();
    }
}

impl SitemhNet {
    /// Link-failure state.
    pub(crate) fn linkfail(&self) -> &LinkFail {
        &self.linkfail
    }
}

impl Drop for SitemhNet {
    fn drop(&mut self) {
        self.home_knobs4 = None;
        self.home_knobs6 = None;
        self.ce_knobs = None;
        self.lf_knobs = None;
        self.lf6_knobs = None;
        self.family_knobs_v4 = None;
        self.family_knobs_v6 = None;
        self.v4.remove_nodes();
        self.v6.remove_nodes();
    }
}

impl ProcShow for SitemhNet {
    const FILE: &'static CStr = c"sitemh";

    fn show(&self, m: &SeqFile) {
        seq_print!(
            m,
            "family domain prefix router rerouted confined no_route kept\n"
        );
        self.v4.show(m);
        self.v6.show(m);
        self.v6.show_learned(m);
        self.linkfail.show(m);
        self.switchover.show(m);
        self.switchover6.show(m);
        self.home4.show(m);
        self.home6.show(m);
        self.packet_hooks.show(m);
    }
}

/// A packet from `src` to `dst`, a destination outside every domain: the rule's answer
/// for its source carried out, unless the packet may not leave its route (not unicast,
/// not routable; for IPv4 a call into the glue, which only packets the rule would move
/// pay). Out of line: the hook's common path, a destination inside the site, then needs
/// no registers saved.
#[inline(never)]
fn reroute<F: NetFamily>(
    state: &FamilyState<F>,
    snapshot: &Snapshot<F>,
    packet: &mut Packet<'_>,
    src: F::Addr,
    dst: F::Addr,
) -> Verdict {
    let route = snapshot.table.route_outside(src);
    if route == Route::Usual || !F::routable(packet, src, dst) {
        return Verdict::Accept;
    }
    apply(state, snapshot, packet, route)
}

/// The draft's forwarding rule's answer for one packet, `route`, carried out.
fn apply<F: Family>(
    state: &FamilyState<F>,
    snapshot: &Snapshot<F>,
    packet: &mut Packet<'_>,
    route: Route<F::Addr>,
) -> Verdict {
    match route {
        Route::Usual => Verdict::Accept,
        Route::Confined { index } => {
            state.counters.count(index, Counted::Confined);
            Verdict::Drop(EHOSTUNREACH)
        }
        Route::ViaRouter { index, router } => {
            let Some(cache) = &snapshot.caches[usize::from(index)] else {
                return Verdict::Accept;
            };
            match F::reroute(packet, cache, router) {
                Ok(Rerouted::Yes) => {
                    state.counters.count(index, Counted::Rerouted);
                    Verdict::Accept
                }
                Ok(Rerouted::Kept) => {
                    state.counters.count(index, Counted::Kept);
                    Verdict::Accept
                }
                Err(e) => {
                    state.counters.count(index, Counted::NoRoute);
                    Verdict::Drop(e)
                }
            }
        }
    }
}

impl NetdevEvents for SitemhNet {
    /// The CE role sees whether its uplink failed or recovered; cached routes, which
    /// hold their device, are dropped when a device went down or away (see
    /// [`LinkFail::devices_changed`]).
    fn devices_changed(&self, batch: &DeviceBatch<'_>) -> u32 {
        self.linkfail.devices_changed(batch, &self.v4, &self.v6)
    }
}

impl NetHooks for SitemhNet {
    /// The domains changed: the link failure's host role asks their routers for their
    /// state.
    fn changed(&self) {
        self.linkfail.solicit_routers(&self.v4, &self.v6);
    }

    fn needed(point: HookPoint, ipv6: bool, users: u32) -> bool {
        let wants = |bit: u32| users & (1 << bit) != 0;
        match (point, ipv6) {
            (HookPoint::LocalOut | HookPoint::Forward, false) => wants(hook_user::DOMAINS_V4),
            (HookPoint::LocalOut | HookPoint::Forward, true) => wants(hook_user::DOMAINS_V6),
            // Notices, keepalives and the switchover's messages arrive here: every user.
            (HookPoint::LocalIn, false) => users != 0,
            // IPv6 notices (for IPv6 domains) and IPv6 exchange messages.
            (HookPoint::LocalIn, true) => {
                wants(hook_user::DOMAINS_V6)
                    || wants(hook_user::RA_V6)
                    || wants(hook_user::SWITCHOVER_V6)
                    || wants(hook_user::HOME_V6)
                    || wants(hook_user::CE_ROLE)
            }
            // Address translation: moved connections, home addresses.
            (HookPoint::Egress | HookPoint::Ingress, false) => {
                wants(hook_user::SWITCHOVER_V4)
                    || wants(hook_user::HOME_V4)
                    || wants(hook_user::HOME_ADDR_V4)
            }
            (HookPoint::Egress | HookPoint::Ingress, true) => {
                wants(hook_user::SWITCHOVER_V6)
                    || wants(hook_user::HOME_V6)
                    || wants(hook_user::HOME_ADDR_V6)
            }
        }
    }

    fn ipv4(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict {
        match point {
            HookPoint::LocalOut | HookPoint::Forward => self.route::<V4>(packet),
            _ => self.dispatch::<V4>(point, packet),
        }
    }

    fn ipv6(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict {
        match point {
            HookPoint::LocalOut | HookPoint::Forward => self.route::<V6>(packet),
            _ => self.receive_v6(point, packet),
        }
    }
}

/// The features of one family, as the hooks and the socket options reach them.
pub(crate) trait NetFamily: HostFamily + SwitchFamily + StackPath + Sized {
    /// The family's domains, switchover and home addresses in `net`.
    fn parts(net: &SitemhNet) -> (&FamilyState<Self>, &Switchover<Self>, &Home<Self>);
    /// Whether a packet from `src` to `dst` at LOCAL_OUT or FORWARD is for the domains to
    /// route: IPv4 unicast routes; IPv6 traffic that leaves the link (multicast and
    /// link-scoped traffic never does).
    fn routable(packet: &Packet<'_>, src: Self::Addr, dst: Self::Addr) -> bool;
}

impl NetFamily for V4 {
    fn parts(net: &SitemhNet) -> (&FamilyState<V4>, &Switchover<V4>, &Home<V4>) {
        (&net.v4, &net.switchover, &net.home4)
    }

    fn routable(packet: &Packet<'_>, _src: u32, _dst: u32) -> bool {
        packet.ipv4_route_is_unicast()
    }
}

impl NetFamily for V6 {
    fn parts(net: &SitemhNet) -> (&FamilyState<V6>, &Switchover<V6>, &Home<V6>) {
        (&net.v6, &net.switchover6, &net.home6)
    }

    fn routable(_packet: &Packet<'_>, src: u128, dst: u128) -> bool {
        !(ipv6::is_multicast(dst) || ipv6::is_link_local(dst) || ipv6::is_link_local(src))
    }
}

impl SitemhNet {
    /// One packet of family `F` at LOCAL_OUT or FORWARD: the draft's forwarding rule.
    /// Every packet leaving or crossing a namespace with domains comes here, so it is
    /// kept apart from the other hook points' work (a small frame, nothing else inlined).
    fn route<F: NetFamily>(&self, packet: &mut Packet<'_>) -> Verdict {
        let (domains, _, _) = F::parts(self);
        let snapshot = domains.snapshot_in_hook(packet.rcu());
        if snapshot.table.is_empty() {
            return Verdict::Accept;
        }
        let (src, dst) = F::addrs(packet);
        // A destination inside the site is routed the usual way, whatever the source.
        if snapshot.table.holds(dst) {
            return Verdict::Accept;
        }
        reroute(domains, snapshot, packet, src, dst)
    }

    /// An IPv6 packet at `point` (not LOCAL_OUT or FORWARD): router advertisements heard
    /// at LOCAL_IN, then the features. Out of line, as [`SitemhNet::dispatch`].
    #[inline(never)]
    fn receive_v6(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict {
        if matches!(point, HookPoint::LocalIn) {
            self.v6.hear_router_advert(packet);
        }
        self.dispatch::<V6>(point, packet)
    }

    /// One packet of family `F` at `point` (not LOCAL_OUT or FORWARD), to the features in
    /// their order.
    #[inline(never)]
    fn dispatch<F: NetFamily>(&self, point: HookPoint, packet: &mut Packet<'_>) -> Verdict {
        let (domains, switchover, home) = F::parts(self);
        match point {
            HookPoint::LocalIn => match home.receive_update(packet) {
                Some(verdict) => verdict,
                None => self.linkfail.receive(
                    domains,
                    packet,
                    || switchover.domains_changed(),
                    |src, message| switchover.receive(src, message),
                ),
            },
            // A moved connection's packets are found by the socket's addresses: the
            // switchover translates before the home addresses are stacked, and after they
            // are restored.
            HookPoint::Egress => match switchover.egress(packet) {
                Verdict::Accept => home.egress(packet),
                dropped => dropped,
            },
            HookPoint::Ingress => match home.ingress(packet) {
                Verdict::Accept => switchover.ingress(packet),
                dropped => dropped,
            },
            HookPoint::LocalOut | HookPoint::Forward => self.route::<F>(packet),
        }
    }
}
