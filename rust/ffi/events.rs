// SPDX-License-Identifier: GPL-2.0

//! Events on the generic netlink family `sitemh` (`glue_events.c`; the attributes are the
//! UAPI header's `SITEMH_A_*`): what the features announce, built here and sent by C.

use super::{
    bindings as local,
    net::Net, //
};
use crate::logic::prefix::WireAddr;
use kernel::prelude::*;

/// What happened (the UAPI's `enum sitemh_event_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    NoticeSent = local::sitemh_event_type_SITEMH_EVENT_NOTICE_SENT as u8,
    NoticeReceived = local::sitemh_event_type_SITEMH_EVENT_NOTICE_RECEIVED as u8,
    DomainDown = local::sitemh_event_type_SITEMH_EVENT_DOMAIN_DOWN as u8,
    DomainUp = local::sitemh_event_type_SITEMH_EVENT_DOMAIN_UP as u8,
    ConnMoved = local::sitemh_event_type_SITEMH_EVENT_CONN_MOVED as u8,
    ConnFailedBack = local::sitemh_event_type_SITEMH_EVENT_CONN_FAILED_BACK as u8,
    BindingLearned = local::sitemh_event_type_SITEMH_EVENT_BINDING_LEARNED as u8,
    BindingExpired = local::sitemh_event_type_SITEMH_EVENT_BINDING_EXPIRED as u8,
    DomainLearned = local::sitemh_event_type_SITEMH_EVENT_DOMAIN_LEARNED as u8,
    DomainExpired = local::sitemh_event_type_SITEMH_EVENT_DOMAIN_EXPIRED as u8,
}

/// Which address an event carries (the glue's `enum sitemh_event_addr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    Router,
    Gateway,
    OldSaddr,
    OldDaddr,
    NewSaddr,
    NewDaddr,
    Home,
    CareOf,
    Prefix,
}

impl Addr {
    fn slot_and_attr(self) -> (u32, u32) {
        match self {
            Addr::Router => (
                local::sitemh_event_addr_SITEMH_EVADDR_ROUTER,
                local::sitemh_attr_SITEMH_A_ROUTER,
            ),
            Addr::Gateway => (
                local::sitemh_event_addr_SITEMH_EVADDR_GATEWAY,
                local::sitemh_attr_SITEMH_A_GATEWAY,
            ),
            Addr::OldSaddr => (
                local::sitemh_event_addr_SITEMH_EVADDR_OLD_SADDR,
                local::sitemh_attr_SITEMH_A_OLD_SADDR,
            ),
            Addr::OldDaddr => (
                local::sitemh_event_addr_SITEMH_EVADDR_OLD_DADDR,
                local::sitemh_attr_SITEMH_A_OLD_DADDR,
            ),
            Addr::NewSaddr => (
                local::sitemh_event_addr_SITEMH_EVADDR_NEW_SADDR,
                local::sitemh_attr_SITEMH_A_NEW_SADDR,
            ),
            Addr::NewDaddr => (
                local::sitemh_event_addr_SITEMH_EVADDR_NEW_DADDR,
                local::sitemh_attr_SITEMH_A_NEW_DADDR,
            ),
            Addr::Home => (
                local::sitemh_event_addr_SITEMH_EVADDR_HOME,
                local::sitemh_attr_SITEMH_A_HOME,
            ),
            Addr::CareOf => (
                local::sitemh_event_addr_SITEMH_EVADDR_CAREOF,
                local::sitemh_attr_SITEMH_A_CAREOF,
            ),
            Addr::Prefix => (
                local::sitemh_event_addr_SITEMH_EVADDR_PREFIX,
                local::sitemh_attr_SITEMH_A_PREFIX,
            ),
        }
    }
}

/// One event of family `A` (`u32`: IPv4, `u128`: IPv6), built field by field and announced.
pub(crate) struct Event(local::sitemh_event);

impl Event {
    /// An event of `kind` about addresses like `A`.
    pub(crate) fn new<A: WireAddr>(kind: Kind) -> Self {
        let mut event = local::sitemh_event {
            type_: kind as u8,
            family: if A::LEN == 16 {
                kernel::bindings::AF_INET6 as u8
            } else {
                kernel::bindings::AF_INET as u8
            },
            ..Default::default()
        };
        event.present = 1 << local::sitemh_attr_SITEMH_A_FAMILY;
        Self(event)
    }

    fn with(mut self, attr: u32) -> Self {
        self.0.present |= 1 << attr;
        self
    }

    /// The notice's ICMP code.
    pub(crate) fn code(mut self, code: u8) -> Self {
        self.0.code = code;
        self.with(local::sitemh_attr_SITEMH_A_CODE)
    }

    /// The domain's index.
    pub(crate) fn domain(mut self, index: u8) -> Self {
        self.0.domain = index;
        self.with(local::sitemh_attr_SITEMH_A_DOMAIN)
    }

    /// A prefix's length (with [`Addr::Prefix`]).
    pub(crate) fn prefix_len(mut self, len: u8) -> Self {
        self.0.prefix_len = len;
        self.with(local::sitemh_attr_SITEMH_A_PREFIX_LEN)
    }

    /// An interface.
    pub(crate) fn ifindex(mut self, ifindex: i32) -> Self {
        self.0.ifindex = ifindex as u32;
        self.with(local::sitemh_attr_SITEMH_A_IFINDEX)
    }

    /// An address of the event.
    pub(crate) fn addr<A: WireAddr>(mut self, which: Addr, addr: A) -> Self {
        let (slot, attr) = which.slot_and_attr();
        if let Some(out) = self.0.addrs.get_mut(slot as usize) {
            addr.write(out);
        }
        self.with(attr)
    }

    /// The connection's own tuple: protocol, local and peer address and port.
    pub(crate) fn tuple<A: WireAddr>(
        mut self,
        proto: u8,
        laddr: A,
        lport: u16,
        faddr: A,
        fport: u16,
    ) -> Self {
        self.0.proto = proto;
        self.0.lport = lport;
        self.0.fport = fport;
        for (slot, addr) in [
            (local::sitemh_event_addr_SITEMH_EVADDR_LADDR, laddr),
            (local::sitemh_event_addr_SITEMH_EVADDR_FADDR, faddr),
        ] {
            if let Some(out) = self.0.addrs.get_mut(slot as usize) {
                addr.write(out);
            }
        }
        self.with(local::sitemh_attr_SITEMH_A_PROTO)
            .with(local::sitemh_attr_SITEMH_A_LADDR)
            .with(local::sitemh_attr_SITEMH_A_LPORT)
            .with(local::sitemh_attr_SITEMH_A_FADDR)
            .with(local::sitemh_attr_SITEMH_A_FPORT)
    }

    /// The (kernel) uid owning the event's socket: the "own" group's listeners of that
    /// user get the event too.
    pub(crate) fn owner(mut self, uid: u32) -> Self {
        self.0.uid = uid;
        self.with(local::sitemh_attr_SITEMH_A_UID)
    }

    /// Sends the event to `net`'s privileged listeners; any context. Costs a look at the
    /// groups when nobody listens.
    pub(crate) fn announce(&self, net: &Net) {
        self.announce_owned(net, false)
    }

    /// Sends the event to `net`'s privileged listeners and, with `to_owner` and an
    /// [`Event::owner`], to that user's listeners of the "own" group; any context.
    pub(crate) fn announce_owned(&self, net: &Net, to_owner: bool) {
        // SAFETY: `net` is alive for the call; the glue reads `self.0` during the call only.
        unsafe { local::sitemh_event_announce(net.as_raw(), &self.0, to_owner) };
    }
}

/// The family's registration: while it exists, events can be announced.
pub(crate) struct Family(());

impl Family {
    /// Registers the family (module init).
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: called once, from module init; the family is static in the glue.
        kernel::error::to_result(unsafe { local::sitemh_events_register() })?;
        Ok(Self(()))
    }
}

impl Drop for Family {
    fn drop(&mut self) {
        // SAFETY: registered by `register` (the only way to make a `Family`); unregistering
        // waits for nothing, and no namespace announces any more (they went first).
        unsafe { local::sitemh_events_unregister() };
    }
}
