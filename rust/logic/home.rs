// SPDX-License-Identifier: GPL-2.0

//! Home addresses on the packet path (draft 2.2, 2.3.4): which addresses an outgoing
//! packet travels between and stacks, and which an arriving packet is given back.
//!
//! A mobile node (or a node with a provider-independent address) has a home address and a
//! co-located care-of address, one of its provider addresses. Its sockets use the home
//! address; on the wire the care-of address is the source, so that the site's
//! source-domain routing decides by a real local prefix, and the home address travels
//! stacked beside it. The correspondent gives the home address back to the packet before
//! its socket sees it and remembers where that home address is reached (a *binding*), so
//! that its replies go to the care-of address with the home address stacked (type 0).
//! When both ends are away, both addresses are stacked (type 2).

use super::stacking::{
    HomeAddr,
    Stacking, //
};

/// A node's own home address and the care-of address it travels under (the
/// unspecified address: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HomeConfig<A> {
    pub(crate) home: A,
    pub(crate) careof: A,
}

impl<A: HomeAddr> HomeConfig<A> {
    /// Whether the node is away from home: both addresses set and different.
    pub(crate) fn away(&self) -> bool {
        let none = A::default();
        self.home != none && self.careof != none && self.home != self.careof
    }
}

/// Where a packet goes on the wire and what it stacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stacked<A> {
    pub(crate) src: A,
    pub(crate) dst: A,
    pub(crate) stacking: Stacking<A>,
}

/// An outgoing packet from `src` to `dst`: the addresses it travels between and what it
/// stacks, or `None` if it goes as it is. `peer_careof` is the care-of address bound to
/// `dst` if `dst` is a peer's home address.
pub(crate) fn egress<A: HomeAddr>(
    config: &HomeConfig<A>,
    peer_careof: Option<A>,
    src: A,
    dst: A,
) -> Option<Stacked<A>> {
    let sender_home = (config.away() && src == config.home).then_some(src);
    let receiver_home = peer_careof
        .filter(|&c| c != dst && c != A::default())
        .map(|_| dst);
    let stacking = Stacking::of(sender_home, receiver_home)?;
    Some(Stacked {
        src: if sender_home.is_some() {
            config.careof
        } else {
            src
        },
        dst: match (receiver_home, peer_careof) {
            (Some(_), Some(careof)) => careof,
            _ => dst,
        },
        stacking,
    })
}

/// Why an arriving stacked packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RestoreError {
    /// It stacks a receiver's home address that is not this node's, or arrived at an
    /// address other than this node's care-of address.
    NotOurs,
    /// It stacks, as the sender's home address, this node's own home or care-of address,
    /// or the address it came from.
    Impossible,
    /// It stacks a sender's home address that this node holds no authenticated binding
    /// for, to the address the packet came from.
    Unbound,
}

/// What an arriving stacked packet becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Restored<A> {
    /// The addresses the socket sees.
    pub(crate) src: A,
    pub(crate) dst: A,
}

/// An arriving packet from `src` to `dst` that stacks `stacking`: the addresses its socket
/// sees. A stacked sender's home address replaces the source only if `bound(home, src)`:
/// this node holds an authenticated (or configured) binding of that home address to the
/// address the packet came from. A packet never teaches a binding: anyone can stack any
/// address, and the source it gives the socket would be believed.
pub(crate) fn ingress<A: HomeAddr>(
    config: &HomeConfig<A>,
    stacking: &Stacking<A>,
    src: A,
    dst: A,
    bound: impl FnOnce(A, A) -> bool,
) -> Result<Restored<A>, RestoreError> {
    let dst = match stacking.receiver_home() {
        Some(home) if config.away() && home == config.home && dst == config.careof => home,
        Some(_) => return Err(RestoreError::NotOurs),
        None => dst,
    };
    let src = match stacking.sender_home() {
        Some(home) if home == src || home == config.home || home == config.careof => {
            return Err(RestoreError::Impossible)
        }
        Some(home) if bound(home, src) => home,
        Some(_) => return Err(RestoreError::Unbound),
        None => src,
    };
    Ok(Restored { src, dst })
}

/// Draft 2.3.4: a packet that reaches the home address without stacked addresses while
/// the home address is outside the site's domains came through the home agent (IP in IP),
/// and carries nothing about the care-of address; the node then finds its co-located
/// care-of address "by going through the interface list". Of `local` (the node's
/// addresses in interface order), the first that is not the home address and lies in a
/// domain with a default router (`routed`): its packets can leave the site.
pub(crate) fn careof_from_interfaces<A: HomeAddr>(
    home: A,
    local: impl IntoIterator<Item = A>,
    routed: impl Fn(A) -> bool,
) -> Option<A> {
    local
        .into_iter()
        .find(|&a| a != home && a.usable_as_home() && routed(a))
}

/// A peer's home address and where it is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Binding<A> {
    home: A,
    careof: A,
    /// When it was last learned or used; the oldest is replaced when the cache is full.
    used: u64,
    /// When it lapses (monotonic milliseconds); 0: configured, it lasts until forgotten.
    expires: u64,
    /// The timestamp of the last binding update accepted for `home`: an update no newer
    /// is a replay.
    stamp: u64,
}

impl<A> Binding<A> {
    fn live(&self, now: u64) -> bool {
        self.expires == 0 || now < self.expires
    }
}

/// Why an authenticated binding update was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindingRefused {
    /// No newer than the last one accepted for the same home address: a replay.
    Replayed,
}

/// The care-of addresses of peers away from home, learned from their packets. A fixed
/// number of entries: a flood of bindings replaces old ones instead of growing memory.
#[derive(Clone, Debug)]
pub(crate) struct BindingCache<A, const N: usize> {
    entries: [Binding<A>; N],
    len: usize,
}

impl<A: HomeAddr, const N: usize> Default for BindingCache<A, N> {
    fn default() -> Self {
        Self {
            entries: [Binding::default(); N],
            len: 0,
        }
    }
}

impl<A: HomeAddr, const N: usize> BindingCache<A, N> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The care-of address bound to `home`, unless the binding lapsed; marks it used at
    /// `now`.
    pub(crate) fn lookup(&mut self, home: A, now: u64) -> Option<A> {
        let entry = self.entries[..self.len]
            .iter_mut()
            .find(|b| b.home == home && b.live(now))?;
        entry.used = now;
        Some(entry.careof)
    }

    /// Whether `home` is bound to `careof` at `now` (a binding that lapsed is none).
    pub(crate) fn is_bound(&self, home: A, careof: A, now: u64) -> bool {
        self.entries[..self.len]
            .iter()
            .any(|b| b.home == home && b.careof == careof && b.live(now))
    }

    /// Binds `home` to `careof` by configuration: the binding lasts until forgotten.
    /// Returns whether anything changed.
    pub(crate) fn learn(&mut self, home: A, careof: A, now: u64) -> bool {
        self.bind(home, careof, now, 0, 0)
    }

    /// Binds `home` to `careof` from an authenticated binding update stamped `stamp`,
    /// until `now + lifetime_ms`; an update no newer than the last one taken for `home`
    /// is a replay and changes nothing. Returns whether the care-of address changed.
    pub(crate) fn learn_authenticated(
        &mut self,
        home: A,
        careof: A,
        now: u64,
        stamp: u64,
        lifetime_ms: u64,
    ) -> Result<bool, BindingRefused> {
        if let Some(entry) = self.entries[..self.len].iter().find(|b| b.home == home) {
            if stamp <= entry.stamp {
                return Err(BindingRefused::Replayed);
            }
        }
        Ok(self.bind(
            home,
            careof,
            now,
            now.saturating_add(lifetime_ms.max(1)),
            stamp,
        ))
    }

    /// Drops the bindings that lapsed by `now`; returns how many are left.
    pub(crate) fn expire(&mut self, now: u64) -> usize {
        self.expire_with(now, |_, _| {})
    }

    /// Drops the bindings that lapsed by `now`, telling `dropped` each (home, care-of);
    /// returns how many are left.
    pub(crate) fn expire_with(&mut self, now: u64, mut dropped: impl FnMut(A, A)) -> usize {
        let mut i = 0;
        while i < self.len {
            if self.entries[i].live(now) {
                i += 1;
            } else {
                dropped(self.entries[i].home, self.entries[i].careof);
                self.len -= 1;
                self.entries.swap(i, self.len);
            }
        }
        self.len
    }

    /// The care-of address bound to `home`, lapsed or not.
    pub(crate) fn careof_of(&self, home: A) -> Option<A> {
        self.entries[..self.len]
            .iter()
            .find(|b| b.home == home)
            .map(|b| b.careof)
    }

    fn bind(&mut self, home: A, careof: A, now: u64, expires: u64, stamp: u64) -> bool {
        if let Some(entry) = self.entries[..self.len].iter_mut().find(|b| b.home == home) {
            let changed = entry.careof != careof || !entry.live(now);
            entry.careof = careof;
            entry.used = now;
            entry.expires = expires;
            entry.stamp = entry.stamp.max(stamp);
            return changed;
        }
        if self.len == N {
            self.expire(now);
        }
        let slot = if self.len < N {
            self.len += 1;
            self.len - 1
        } else {
            // Full: the least recently used makes room.
            let mut oldest = 0;
            for (i, b) in self.entries.iter().enumerate() {
                if b.used < self.entries[oldest].used {
                    oldest = i;
                }
            }
            oldest
        };
        if let Some(entry) = self.entries.get_mut(slot) {
            *entry = Binding {
                home,
                careof,
                used: now,
                expires,
                stamp,
            };
        }
        true
    }

    /// Forgets the binding of `home`; returns whether there was one.
    pub(crate) fn forget(&mut self, home: A) -> bool {
        let Some(at) = self.entries[..self.len].iter().position(|b| b.home == home) else {
            return false;
        };
        self.len -= 1;
        self.entries.swap(at, self.len);
        true
    }

    /// Forgets every binding.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::*;

    pub(crate) const HOME: u32 = 0x6440_0005; // 100.64.0.5
    pub(crate) const CAREOF: u32 = 0xc633_640a; // 198.51.100.10
    pub(crate) const PEER: u32 = 0xc000_02c8; // 192.0.2.200
    pub(crate) const PEER_HOME: u32 = 0x6441_0007; // 100.65.0.7

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* home {
                home_addresses_both_ways,
                foreign_home_addresses_refused,
                binding_cache_replacement,
                binding_lifetimes_and_replays,
                careof_from_the_interfaces,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// The mobile node's configuration.
    const MOBILE: HomeConfig<u32> = HomeConfig {
        home: HOME,
        careof: CAREOF,
    };

    /// Both ends' views of a connection with one and with both ends away: what each end
    /// stacks and restores.
    pub(crate) fn home_addresses_both_ways() -> Result<(), &'static str> {
        let mobile = MOBILE;
        let peer_away = HomeConfig {
            home: PEER_HOME,
            careof: PEER,
        };
        for (receiver, dst) in [(HomeConfig::<u32>::default(), PEER), (peer_away, PEER_HOME)] {
            let first = egress(&mobile, None, HOME, dst).ok_or("nothing stacked")?;
            if first.src != CAREOF || first.stacking.sender_home() != Some(HOME) {
                return Err("the care-of address is not the source");
            }
            if ingress(&receiver, &first.stacking, first.src, first.dst, |_, _| {
                false
            }) != Err(RestoreError::Unbound)
            {
                return Err("a sender's home address was believed without a binding");
            }
            let bound = |home, careof| (home, careof) == (HOME, CAREOF);
            let back = ingress(&receiver, &first.stacking, first.src, first.dst, bound)
                .map_err(|_| "the correspondent refused")?;
            if back.src != HOME {
                return Err("the correspondent did not restore");
            }
            let reply = egress(&receiver, Some(CAREOF), back.dst, back.src).ok_or("no reply")?;
            if reply.dst != CAREOF {
                return Err("the reply does not go to the care-of address");
            }
            let peer_bound = |home, careof| (home, careof) == (PEER_HOME, PEER);
            let at_mobile = ingress(&mobile, &reply.stacking, reply.src, reply.dst, peer_bound)
                .map_err(|_| "the mobile node refused the reply")?;
            if (at_mobile.src, at_mobile.dst) != (dst, HOME) {
                return Err("the mobile node's socket does not see home addresses");
            }
        }
        Ok(())
    }

    /// A home address that is not this node's, or this node's own from a peer, is refused.
    pub(crate) fn foreign_home_addresses_refused() -> Result<(), &'static str> {
        let mobile = MOBILE;
        let foreign = Stacking::Receiver {
            receiver_home: PEER_HOME,
        };
        if ingress(&mobile, &foreign, PEER, CAREOF, |_, _| true) != Err(RestoreError::NotOurs) {
            return Err("a foreign home address was accepted");
        }
        let own = Stacking::Sender { sender_home: HOME };
        if ingress(&mobile, &own, PEER, CAREOF, |_, _| true) != Err(RestoreError::Impossible) {
            return Err("this node's own home address was accepted from a peer");
        }
        Ok(())
    }

    /// The binding cache replaces its least recently used binding and forgets on request.
    pub(crate) fn binding_cache_replacement() -> Result<(), &'static str> {
        let mut cache = BindingCache::<u32, 2>::default();
        cache.learn(1, 10, 1);
        cache.learn(2, 20, 2);
        cache.lookup(1, 3);
        cache.learn(3, 30, 4);
        if cache.len() != 2 || cache.lookup(2, 5).is_some() || cache.lookup(1, 5) != Some(10) {
            return Err("binding replacement");
        }
        if !cache.forget(1) || cache.forget(1) || cache.lookup(1, 6).is_some() || cache.len() != 1 {
            return Err("forgetting a binding");
        }
        Ok(())
    }

    /// Learned bindings lapse, and an update no newer than the last is a replay.
    pub(crate) fn binding_lifetimes_and_replays() -> Result<(), &'static str> {
        let mut cache = BindingCache::<u32, 2>::default();
        if cache.learn_authenticated(1, 10, 100, 5, 1000) != Ok(true)
            || !cache.is_bound(1, 10, 1099)
            || cache.is_bound(1, 10, 1100)
            || cache.lookup(1, 1100).is_some()
            || cache.learn_authenticated(1, 11, 1100, 5, 1000) != Err(BindingRefused::Replayed)
            || cache.learn_authenticated(1, 11, 1100, 6, 1000) != Ok(true)
            || cache.lookup(1, 1200) != Some(11)
            || cache.expire(2100) != 0
        {
            return Err("binding lifetimes and replays");
        }
        Ok(())
    }

    /// The care-of address found on the interfaces: a private address (no router) and the
    /// home address itself are passed over.
    pub(crate) fn careof_from_the_interfaces() -> Result<(), &'static str> {
        const PRIVATE: u32 = 0x0a63_0005; // 10.99.0.5
        let routed = |a: u32| a != PRIVATE;
        if careof_from_interfaces(HOME, [HOME, PRIVATE, 0, CAREOF, PEER], routed) != Some(CAREOF)
            || careof_from_interfaces(HOME, [HOME, PRIVATE], routed).is_some()
        {
            return Err("the care-of address found on the interfaces");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([home] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: u32 = 0x0a63_0005; // 10.99.0.5
    const CAREOF: u32 = 0xc633_640a; // 198.51.100.10
    const PEER: u32 = 0xcb00_710a; // 203.0.113.10
    const PEER_HOME: u32 = 0x0a62_0007; // 10.98.0.7

    fn mobile() -> HomeConfig<u32> {
        HomeConfig {
            home: HOME,
            careof: CAREOF,
        }
    }

    #[test]
    fn a_mobile_sender_travels_under_its_care_of_address() {
        let out = egress(&mobile(), None, HOME, PEER);
        assert_eq!(
            out,
            Some(Stacked {
                src: CAREOF,
                dst: PEER,
                stacking: Stacking::Sender { sender_home: HOME }
            })
        );
        // Its other addresses go as they are, and so does everything at home.
        assert_eq!(egress(&mobile(), None, CAREOF, PEER), None);
        let home = HomeConfig {
            home: HOME,
            careof: HOME,
        };
        assert_eq!(egress(&home, None, HOME, PEER), None);
        assert_eq!(egress(&HomeConfig::default(), None, HOME, PEER), None);
    }

    #[test]
    fn replies_to_a_bound_peer_stack_its_home_address() {
        let plain = HomeConfig::default();
        assert_eq!(
            egress(&plain, Some(CAREOF), PEER, HOME),
            Some(Stacked {
                src: PEER,
                dst: CAREOF,
                stacking: Stacking::Receiver {
                    receiver_home: HOME
                }
            })
        );
        // Both away: type 2.
        let peer_mobile = HomeConfig {
            home: PEER_HOME,
            careof: PEER,
        };
        assert_eq!(
            egress(&peer_mobile, Some(CAREOF), PEER_HOME, HOME),
            Some(Stacked {
                src: PEER,
                dst: CAREOF,
                stacking: Stacking::Both {
                    sender_home: PEER_HOME,
                    receiver_home: HOME
                }
            })
        );
    }

    #[test]
    fn what_one_end_stacks_the_other_restores() {
        let peer_mobile = HomeConfig {
            home: PEER_HOME,
            careof: PEER,
        };
        for (sender, receiver) in [
            (mobile(), HomeConfig::<u32>::default()),
            (mobile(), peer_mobile),
            (peer_mobile, mobile()),
        ] {
            // With the sender's binding (learned from its authenticated update) the
            // receiver restores the first packet...
            let first = egress(&sender, None, sender.home, receiver.home.max(PEER)).unwrap();
            let bound = |h, c| (h, c) == (sender.home, sender.careof);
            let back = ingress(&receiver, &first.stacking, first.src, first.dst, bound).unwrap();
            assert_eq!(back.src, sender.home);
            // ...and its reply, stacked with it, is restored at the sender.
            let reply = egress(&receiver, Some(sender.careof), back.dst, back.src).unwrap();
            assert_eq!(reply.dst, sender.careof);
            let receiver_bound = |h, c| (h, c) == (receiver.home, receiver.careof);
            let at_sender = ingress(
                &sender,
                &reply.stacking,
                reply.src,
                reply.dst,
                receiver_bound,
            )
            .unwrap();
            assert_eq!((at_sender.src, at_sender.dst), (back.dst, sender.home));
        }
    }

    #[test]
    fn impossible_or_foreign_stackings_are_refused() {
        let to_us = Stacking::Receiver {
            receiver_home: HOME,
        };
        let any = |_, _| true;
        assert_eq!(
            ingress(&mobile(), &to_us, PEER, CAREOF, any).map(|r| r.dst),
            Ok(HOME)
        );
        // Not at our care-of address, not our home address, or we are at home.
        assert_eq!(
            ingress(&mobile(), &to_us, PEER, HOME, any),
            Err(RestoreError::NotOurs)
        );
        let other = Stacking::Receiver {
            receiver_home: PEER_HOME,
        };
        assert_eq!(
            ingress(&mobile(), &other, PEER, CAREOF, any),
            Err(RestoreError::NotOurs)
        );
        assert_eq!(
            ingress(&HomeConfig::default(), &to_us, PEER, CAREOF, any),
            Err(RestoreError::NotOurs)
        );
        // A sender claiming our own addresses, or the one it sends from.
        for claimed in [HOME, CAREOF, PEER] {
            let s = Stacking::Sender {
                sender_home: claimed,
            };
            assert_eq!(
                ingress(&mobile(), &s, PEER, CAREOF, any),
                Err(RestoreError::Impossible)
            );
        }
        // A sender's home address without a binding to the packet's source: never
        // believed, whatever the packet says.
        let s = Stacking::Sender {
            sender_home: PEER_HOME,
        };
        assert_eq!(
            ingress(&mobile(), &s, PEER, CAREOF, |_, _| false),
            Err(RestoreError::Unbound)
        );
        assert_eq!(
            ingress(&mobile(), &s, PEER, CAREOF, |h, c| (h, c)
                == (PEER_HOME, CAREOF)),
            Err(RestoreError::Unbound)
        );
    }

    #[test]
    fn the_binding_cache_keeps_the_newest_and_the_recently_used() {
        let mut cache = BindingCache::<u32, 3>::default();
        assert_eq!(cache.lookup(1, 0), None);
        assert!(cache.learn(1, 11, 1));
        assert!(!cache.learn(1, 11, 2));
        assert!(cache.learn(1, 12, 3), "a peer that moved");
        assert_eq!(cache.lookup(1, 4), Some(12));
        cache.learn(2, 21, 5);
        cache.learn(3, 31, 6);
        assert_eq!(cache.len(), 3);
        // 2 is the least recently used once 1 is looked up again.
        cache.lookup(1, 7);
        cache.learn(4, 41, 8);
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.lookup(2, 9), None);
        assert_eq!(cache.lookup(1, 9), Some(12));
        assert_eq!(cache.lookup(4, 9), Some(41));
        // Forgetting one keeps the others and makes room.
        assert!(cache.forget(1));
        assert!(!cache.forget(1));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.lookup(1, 10), None);
        assert_eq!(cache.lookup(3, 10), Some(31));
        assert_eq!(cache.lookup(4, 10), Some(41));
        assert!(cache.learn(5, 51, 11));
        assert_eq!(cache.len(), 3);
        assert_eq!(
            cache.lookup(3, 12),
            Some(31),
            "room was made without replacing"
        );
        cache.clear();
        assert_eq!(cache.lookup(1, 10), None);
    }

    #[test]
    fn the_care_of_address_is_the_first_routed_one_on_the_interfaces() {
        const P2: u32 = 0xcb00_710a; // 203.0.113.10
        const PRIVATE: u32 = 0x0a63_0205; // 10.99.2.5
        let routed = |a: u32| a >> 24 != 10;
        assert_eq!(
            careof_from_interfaces(HOME, [PRIVATE, P2, CAREOF], routed),
            Some(P2)
        );
        assert_eq!(careof_from_interfaces(HOME, [HOME, PRIVATE], routed), None);
        assert_eq!(careof_from_interfaces(HOME, [], routed), None);
        // Unusable addresses are never a care-of address, whatever the domains say.
        assert_eq!(
            careof_from_interfaces(HOME, [0, u32::MAX, 0x7f00_0001, CAREOF], |_| true),
            Some(CAREOF)
        );
    }

    #[test]
    fn ipv6_addresses_stack_the_same_way() {
        let home: u128 = 0x2001_0db8_00aa_0000_0000_0000_0000_0005;
        let careof: u128 = 0x2001_0db8_0001_000a_0000_0000_0000_0010;
        let peer: u128 = 0x2001_0db8_00ff_0000_0000_0000_0000_0200;
        let mobile = HomeConfig { home, careof };
        let out = egress(&mobile, None, home, peer).unwrap();
        assert_eq!((out.src, out.dst), (careof, peer));
        let bound = |h, c| (h, c) == (home, careof);
        let back = ingress(
            &HomeConfig::default(),
            &out.stacking,
            out.src,
            out.dst,
            bound,
        )
        .unwrap();
        assert_eq!(back.src, home);
        let reply = egress(&HomeConfig::default(), Some(careof), peer, home).unwrap();
        let at_mobile =
            ingress(&mobile, &reply.stacking, reply.src, reply.dst, |_, _| false).unwrap();
        assert_eq!((at_mobile.src, at_mobile.dst), (peer, home));
    }

    #[test]
    fn no_care_of_address_is_at_home() {
        assert!(!HomeConfig::<u32>::default().away());
        assert!(!HomeConfig {
            home: HOME,
            careof: 0
        }
        .away());
        assert!(mobile().away());
    }
}
