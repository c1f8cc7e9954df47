// SPDX-License-Identifier: GPL-2.0

//! The socket options `SITEMH_SO_LFROUTES`, `SITEMH_SO_SEQPARAM` and `SITEMH_SO_LFSTAT`:
//! registering a connection (within the namespace's and the user's quota) and reading it.
//! Keys without routes make the module carry the route lists (`lists.rs`).

#![forbid(unsafe_code)]

use super::*;

impl<F: SwitchFamily> Switchover<F> {
    /// Makes sure the table has room for one more connection without allocating under
    /// its interrupt-disabling lock: what it lacks (a chunk of slots, rarely larger index
    /// heads) is allocated here, charged to the caller's memory cgroup
    /// (`GFP_KERNEL_ACCOUNT`: a user pays for the connections it registers), and taken in
    /// under the lock, which copies no entry; what it replaced is freed after. Called with
    /// `membership` held, so no other caller adds connections meanwhile.
    pub(super) fn reserve_one(&self) -> Result {
        let needs = {
            let conns = self.conns.lock();
            if conns.len() >= MAX_TRACKED {
                return Err(ENOBUFS);
            }
            conns.needs()
        };
        if needs.none() {
            return Ok(());
        }
        let growth = Growth::new(needs)?;
        let replaced = self.conns.lock().grow(growth);
        drop(replaced);
        Ok(())
    }

    /// The slot of the connection of `socket`, if it is tracked.
    pub(super) fn slot_of(conns: &Table<Tracked<F::Addr>>, socket: &Socket<'_>) -> Option<usize> {
        let id = socket.id();
        conns
            .chain(BY_SOCK, sock_hash(id))
            .find(|&at| conns.get(at).is_some_and(|t| socket.is(&t.sock)))
    }

    /// Registers `socket` (or finds it) and applies `change` to its state; an error from
    /// `change` changes nothing.
    pub(super) fn with_conn(
        &self,
        socket: &Socket<'_>,
        change: impl FnOnce(&mut Tracked<F::Addr>) -> Result,
    ) -> Result {
        let (mut fresh, quota) = self.new_tracked(socket)?;
        // (Unused if the socket is tracked already: its reference goes after the locks.)
        let _membership = self.membership.lock();
        // Room for one more, made before the lock: nothing below allocates with
        // interrupts off (only this path, under `membership`, adds connections).
        self.reserve_one()?;
        let first = {
            let mut conns = self.conns.lock();
            let found = Self::slot_of(&conns, socket);
            if let Some(t) = found.and_then(|at| conns.get_mut(at)) {
                change(t)?;
                let c = &t.conn;
                if c.in_use.is_some() || c.pending.is_some() || c.switches > 0 {
                    // The packet path reads a copy of moved connections: the work item
                    // publishes the change at once.
                    self.arm(0);
                }
                false
            } else {
                let Some(mut t) = fresh.take() else {
                    return Err(EINVAL);
                };
                if conns.len() >= MAX_TRACKED || conns.user_count(t.uid) >= quota {
                    // The socket's reference goes outside the lock.
                    drop(conns);
                    drop(t);
                    return Err(ENOBUFS);
                }
                if let Err(e) = change(&mut t) {
                    drop(conns);
                    drop(t);
                    return Err(e);
                }
                if let Err(t) = conns.insert(t) {
                    // Not reached (`reserve_one`).
                    drop(conns);
                    drop(t);
                    return Err(ENOMEM);
                }
                conns.len() == 1
            }
        };
        if first {
            self.first_tracked(socket)?;
        }
        Ok(())
    }

    /// What `socket` is tracked as when it is registered (its own pair as its one route,
    /// not to be moved until `SITEMH_SO_LFSTAT` says so), and how many connections its
    /// user may track.
    fn new_tracked(&self, socket: &Socket<'_>) -> Result<(Option<Tracked<F::Addr>>, usize)> {
        let sock = socket.hold().ok_or(EINVAL)?;
        let tuple = F::tuple(&sock)?;
        let own = IdPcb::of_tuple(&tuple);
        let routes = Routes::new(&[(own.laddr, own.faddr)]).ok_or(EINVAL)?;
        let mut conn = Conn::new(own, routes);
        conn.stat = STAT_DO_NOT_ALTER;
        let quota = if current_is_net_admin(socket.net) {
            MAX_TRACKED
        } else {
            // At most MAX_TRACKED (the knob's range): fits.
            self.user_quota.load(Ordering::Relaxed) as usize
        };
        let tracked = Tracked::new(conn, sock);
        Ok((Some(tracked), quota))
    }

    /// The first connection tracked: moved connections need the packet hooks even without
    /// domains. Without them it is not tracked either.
    fn first_tracked(&self, socket: &Socket<'_>) -> Result {
        if let Err(e) = self.hooks.want(F::SWITCH_HOOKS_BIT, true) {
            let removed = {
                let mut conns = self.conns.lock();
                let at = Self::slot_of(&conns, socket);
                at.and_then(|i| conns.remove(i))
            };
            // The socket reference goes outside the lock.
            drop(removed);
            return Err(e);
        }
        self.arm(PRUNE_MS);
        Ok(())
    }

    /// `setsockopt` of the switchover options.
    pub(crate) fn set(&self, socket: &Socket<'_>, optname: i32, value: &[u8]) -> Result {
        match optname {
            SO_LFROUTES => self.set_routes(socket, value),
            SO_LFSTAT => {
                let stat = parse_lfstat(value).map_err(|_| EINVAL)?;
                self.with_conn(socket, |t| {
                    t.conn.stat = stat;
                    Ok(())
                })
            }
            SO_SEQPARAM => self.set_keys(socket, value),
            _ => Err(ENOPROTOOPT),
        }
    }

    /// `setsockopt(SITEMH_SO_LFROUTES)`: every local address is the host's, and no route
    /// is a tuple another socket owns.
    fn set_routes(&self, socket: &Socket<'_>, value: &[u8]) -> Result {
        let asked = uapi::read_lfroutes::<F::Addr>(value)?;
        let local = inet::local_addrs(socket.net, F::AF)?;
        // The home address (on the loopback device, which the list leaves out) is a local
        // address too: its own pair is where its connection fails back to.
        let home = {
            let guard = rcu::read_lock();
            self.domains.snapshot(&guard).own_home
        };
        let sock = socket.hold().ok_or(EINVAL)?;
        let own = F::tuple(&sock)?;
        for &(src, dst) in asked.as_slice() {
            let device = local
                .iter()
                .find(|(a, _)| F::Addr::read(a) == Some(src))
                .map(|&(_, ifindex)| ifindex);
            if Some(src) != home && device.is_none() {
                return Err(EADDRNOTAVAIL);
            }
            // Moving there would take another socket's packets: a route is never a tuple
            // some other socket owns (its own pair always is its own).
            let on_wire = Tuple {
                saddr: src,
                daddr: dst,
                ..own
            };
            if (src, dst) != (own.saddr, own.daddr)
                && (F::taken(socket.net, &sock, &on_wire, 0)
                    || device.is_some_and(|d| F::taken(socket.net, &sock, &on_wire, d)))
            {
                if net_ratelimit() {
                    pr_warn!(
                        "switchover: refusing a route {} -> {} port {} -> {}: another socket's\n",
                        F::shown(src, &mut [0; 48]),
                        F::shown(dst, &mut [0; 48]),
                        own.sport,
                        own.dport
                    );
                }
                return Err(EADDRINUSE);
            }
        }
        drop(sock);
        let routes = Routes::new(asked.as_slice()).ok_or(EINVAL)?;
        self.with_conn(socket, |t| {
            // The route in use and the one proposed are indexes into the list.
            if t.conn.in_use.is_some() || t.conn.pending.is_some() {
                return Err(EBUSY);
            }
            t.conn.routes = routes;
            t.conn.stat = STAT_ALTER;
            // The draft's way: the application's routes, none carried by the module.
            t.routes_set = true;
            t.carried = None;
            Ok(())
        })
    }

    /// `setsockopt(SITEMH_SO_SEQPARAM)`: the connection's keys.
    fn set_keys(&self, socket: &Socket<'_>, value: &[u8]) -> Result {
        let keys = match uapi::read_seqparam(value)? {
            SeqParam::Tls12 {
                master,
                client_random,
                server_random,
                is_client,
            } => Keys::from_tls12(master, client_random, server_random, is_client),
            SeqParam::Exporter { block, is_client } => Keys::from_key_block(block, is_client),
        };
        // `keys` is wiped when it goes, the prepared copy freed with `kfree_sensitive`.
        let mut keys = Some(Arc::new(KeySet::new(&keys)?, GFP_KERNEL_ACCOUNT)?);
        let mut old = None;
        let mut carries = false;
        self.with_conn(socket, |t| {
            old = core::mem::replace(&mut t.keys, keys.take());
            // Without routes of the application's, the module carries the two ends'
            // lists: the connection may move from now on.
            if !t.routes_set && t.carried.is_none() {
                t.carried = Some(Carried::new());
                t.conn.stat = STAT_ALTER;
                t.list_due_ms = now_ms() + LIST_FIRST_MS;
                carries = true;
            }
            Ok(())
        })?;
        if carries {
            self.carries_lists.store(true, Ordering::Relaxed);
            self.arm(LIST_FIRST_MS as u32);
        }
        // Freed outside the lock.
        drop(old);
        Ok(())
    }

    /// `getsockopt(SITEMH_SO_LFROUTES)`: `struct sitemh_lfroutes{,6}`, cut to the caller's
    /// buffer.
    pub(crate) fn get(&self, socket: &Socket<'_>, buf: UserSlice) -> Result<usize> {
        let answer = {
            let conns = self.conns.lock();
            let t = Self::slot_of(&conns, socket)
                .and_then(|at| conns.get(at))
                .ok_or(ENOENT)?;
            let routes = t.conn.routes.as_slice();
            // At most SITEMH_MAX_LFROUTES routes: fits.
            let head = [
                t.conn.stat,
                routes.len() as u8,
                t.conn.in_use_index(),
                t.conn.switches.min(255) as u8,
            ];
            F::Addr::lfroutes(head, routes)
        };
        let out = answer.as_bytes();
        let mut writer = buf.writer();
        let copied = writer.len().min(out.len());
        writer.write_slice(&out[..copied])?;
        Ok(copied)
    }
}
