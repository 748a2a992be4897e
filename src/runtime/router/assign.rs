//! Which WebUI serves a user: the Redis mapping when its GameServer is still Allocated to that
//! user, else (under the user's lock, so a browser's parallel first requests make one
//! allocation) a GameServer already Allocated with the user's label, else a new allocation.
//! A mapping whose GameServer died is replaced, never left to strand the user.
//!
//! A checked mapping is used without asking Redis or Kubernetes for `VERIFIED_FOR`; after that,
//! for up to `STALE_FOR`, requests still use it at once while one check runs beside them, so
//! that neither a slow API server nor a short outage of it delays or fails a user's requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::runtime::gameservers::{GameServer, GameServers};
use crate::runtime::store::{Lock, Mapping, Store};
use crate::runtime::{now_unix, user};

/// A verified mapping is trusted this long before its GameServer is read again.
pub const VERIFIED_FOR: Duration = Duration::from_secs(10);
/// Past `VERIFIED_FOR`, a mapping is still used while it is checked in the background, up to
/// this many times `VERIFIED_FOR` after its last successful check; then requests wait for one.
const STALE_FACTOR: u32 = 6;
/// The allocation lock's lifetime (a crashed holder blocks the user at most this long). Every
/// Kubernetes call of the holder times out well before it (`gameservers::CALL_TIMEOUT`), and
/// the mapping is stored only while the lock is still held.
const LOCK_TTL: Duration = Duration::from_secs(30);
/// How long a request waits for another request of the same user to finish allocating.
const LOCK_WAIT: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    pub target: String,
    pub gameserver: String,
    /// How it was found (`cached`, `mapping`, `found`, `allocated`), for the logs.
    pub how: &'static str,
}

#[derive(Debug)]
pub enum AssignError {
    /// No Ready GameServer is free.
    NoCapacity,
    /// Redis or the Kubernetes API failed.
    Backend(anyhow::Error),
}

impl From<anyhow::Error> for AssignError {
    fn from(e: anyhow::Error) -> Self {
        AssignError::Backend(e)
    }
}

pub struct Assigner {
    store: Store,
    servers: GameServers,
    fleet: String,
    verified_for: Duration,
    verified: Mutex<HashMap<String, Checked>>,
}

/// A mapping as last checked, and whether a background check of it is running.
struct Checked {
    assigned: Assigned,
    at: Instant,
    checking: bool,
}

/// What the cache says of a user.
enum Cached {
    Fresh(Assigned),
    /// Usable while the caller checks it in the background.
    Stale(Assigned),
    Unknown,
}

impl Assigner {
    pub fn new(store: Store, servers: GameServers, fleet: String, verified_for: Duration) -> Self {
        Self { store, servers, fleet, verified_for, verified: Mutex::new(HashMap::new()) }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The user's WebUI, allocating one if needed.
    pub async fn assign(self: &Arc<Self>, email: &str) -> Result<Assigned, AssignError> {
        match self.cached(email) {
            Cached::Fresh(hit) => return Ok(hit),
            Cached::Stale(hit) => {
                let (me, email) = (self.clone(), email.to_string());
                tokio::spawn(async move { me.recheck(&email).await });
                return Ok(hit);
            }
            Cached::Unknown => {}
        }
        self.look_up(email).await
    }

    /// The user's WebUI from Redis and Kubernetes (not the cache), allocating one if needed.
    async fn look_up(&self, email: &str) -> Result<Assigned, AssignError> {
        let label = user::label(email);
        if let Some(found) = self.valid_mapping(email, &label).await? {
            return Ok(self.remember(email, found));
        }
        let deadline = Instant::now() + LOCK_WAIT;
        let lock = loop {
            if let Some(lock) = self.store.try_lock(email, LOCK_TTL).await? {
                break lock;
            }
            if Instant::now() > deadline {
                return Err(
                    anyhow::anyhow!("another request of this user has held the allocation lock too long").into()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(found) = self.valid_mapping(email, &label).await? {
                return Ok(self.remember(email, found));
            }
        };
        let result = self.assign_locked(email, &label, &lock).await;
        if let Err(e) = self.store.unlock(lock).await {
            tracing::warn!(user = email, error = %e, "could not release the allocation lock (it expires by itself)");
        }
        result.map(|a| self.remember(email, a))
    }

    /// Under the lock: look again, re-find, or allocate, and store the mapping.
    async fn assign_locked(&self, email: &str, label: &str, lock: &Lock) -> Result<Assigned, AssignError> {
        if let Some(found) = self.valid_mapping(email, label).await? {
            return Ok(found);
        }
        let (gs, how) = match self.servers.find_allocated(label, email).await? {
            Some(gs) => (gs, "found"),
            None => match self.servers.allocate(&self.fleet, label, email).await? {
                Some(gs) => (gs, "allocated"),
                None => return Err(AssignError::NoCapacity),
            },
        };
        let target = gs.target.clone().unwrap_or_default();
        let mapping = Mapping { target: target.clone(), gameserver: gs.name.clone(), lastaccess: now_unix() };
        if !self.store.put_fenced(email, &mapping, lock).await? {
            // Our lock expired: another request owns the user's mapping now; use what it stored.
            tracing::warn!(user = email, gameserver = %gs.name, "allocation lock lost before storing the mapping");
            return match self.valid_mapping(email, label).await? {
                Some(found) => Ok(found),
                None => {
                    Err(anyhow::anyhow!("lost the allocation lock of {email}; the next request tries again").into())
                }
            };
        }
        tracing::info!(user = email, gameserver = %gs.name, target = %target, how, "assigned a WebUI");
        Ok(Assigned { target, gameserver: gs.name, how })
    }

    /// The stored mapping, if its GameServer still serves this user at the same address.
    async fn valid_mapping(&self, email: &str, label: &str) -> anyhow::Result<Option<Assigned>> {
        let Some(m) = self.store.get(email).await? else { return Ok(None) };
        let live: Option<GameServer> = self.servers.get(&m.gameserver).await?;
        match live {
            Some(gs) if gs.serves(label, email) && gs.target.as_deref() == Some(m.target.as_str()) => {
                Ok(Some(Assigned { target: m.target, gameserver: m.gameserver, how: "mapping" }))
            }
            other => {
                let why = match other {
                    None => "gone".to_string(),
                    Some(gs) => format!("{} to {}", gs.state, gs.user_label.unwrap_or_default()),
                };
                tracing::warn!(user = email, gameserver = %m.gameserver, state = %why, "stale mapping: finding another WebUI");
                // Dropped (unless it changed meanwhile): a mapping never outlives its GameServer.
                self.store.remove_if(email, &m.gameserver, None).await?;
                Ok(None)
            }
        }
    }

    /// Fresh; stale (then marked as being checked, so that only this caller checks it; while
    /// that runs, others get it as fresh); or unknown (never checked, or checked too long ago).
    fn cached(&self, email: &str) -> Cached {
        let Ok(mut map) = self.verified.lock() else { return Cached::Unknown };
        let Some(entry) = map.get_mut(email) else { return Cached::Unknown };
        let age = entry.at.elapsed();
        if age < self.verified_for {
            return Cached::Fresh(Assigned { how: "cached", ..entry.assigned.clone() });
        }
        if age >= self.verified_for * STALE_FACTOR {
            return Cached::Unknown;
        }
        let hit = Assigned { how: "cached", ..entry.assigned.clone() };
        if entry.checking {
            return Cached::Fresh(hit);
        }
        entry.checking = true;
        Cached::Stale(hit)
    }

    /// The background check of a stale mapping, as a request without the cache would make it:
    /// renewed when it still holds, repaired or replaced when it does not (under the user's
    /// lock), forgotten when no WebUI is free, kept as it was when Redis or Kubernetes cannot
    /// say (it ages out after `STALE_FACTOR` periods).
    async fn recheck(&self, email: &str) {
        match self.look_up(email).await {
            Ok(_) => {}
            Err(AssignError::NoCapacity) => self.forget(email),
            Err(AssignError::Backend(e)) => {
                tracing::warn!(user = email, error = %format!("{e:#}"), "cannot re-check the user's WebUI; still using it");
                if let Ok(mut map) = self.verified.lock()
                    && let Some(entry) = map.get_mut(email)
                {
                    entry.checking = false;
                }
            }
        }
    }

    fn remember(&self, email: &str, a: Assigned) -> Assigned {
        if let Ok(mut map) = self.verified.lock() {
            map.insert(email.to_string(), Checked { assigned: a.clone(), at: Instant::now(), checking: false });
        }
        a
    }

    /// Forget the verified mapping (its WebUI stopped answering): the next request re-checks it.
    pub fn forget(&self, email: &str) {
        if let Ok(mut map) = self.verified.lock() {
            map.remove(email);
        }
    }
}
