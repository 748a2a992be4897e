//! Which WebUI serves a user: the Redis mapping when its WebUI still serves that user, else
//! (under the user's lock, so a browser's parallel first requests make one allocation):
//! - Agones: a GameServer already Allocated with the user's label, else a new allocation;
//! - OpenKruiseGame: the user's own instance of the template, started if it is stopped (a new
//!   user gets an id and a disk first); requests wait on a page until it is Ready.
//!
//! A mapping whose WebUI died is replaced, never left to strand the user. With templates, a user
//! has a mapping per template (Redis key `sdctl:user:<template>/<email>`).
//!
//! A checked mapping is used without asking Redis or Kubernetes for `VERIFIED_FOR`; after that,
//! for up to `STALE_FOR`, requests still use it at once while one check runs beside them, so
//! that neither a slow API server nor a short outage of it delays or fails a user's requests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::FastMap;
use crate::runtime::gameservers::GameServers;
use crate::runtime::instances::{Instances, NOT_STARTED, StartError, State};
use crate::runtime::store::{Lock, Mapping, Store};
use crate::runtime::{now_unix, user};

/// A verified mapping is trusted this long before its GameServer is read again.
pub const VERIFIED_FOR: Duration = Duration::from_secs(10);
/// Past `VERIFIED_FOR`, a mapping is still used while it is checked in the background, up to
/// this many times `VERIFIED_FOR` after its last successful check; then requests wait for one.
/// Short: while nothing can check a mapping, its GameServer may be gone and its pod's address
/// handed to another pod.
const STALE_FACTOR: u32 = 3;
/// Users remembered before the ones not checked for `STALE_FACTOR` periods are dropped.
const REMEMBERED_MAX: usize = 10_000;
/// The allocation lock's lifetime (a crashed holder blocks the user at most this long). Every
/// Kubernetes call of the holder times out well before it (`gameservers::CALL_TIMEOUT`), and
/// the mapping is stored only while the lock is still held.
const LOCK_TTL: Duration = Duration::from_secs(30);
/// How long a request waits for another request of the same user to finish allocating.
const LOCK_WAIT: Duration = Duration::from_secs(25);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assigned {
    /// Shared, not copied, by each request the cache answers.
    pub target: Arc<str>,
    pub gameserver: Arc<str>,
    /// How it was found (`cached`, `mapping`, `found`, `allocated`, `started`), for the logs.
    pub how: &'static str,
}

/// Where users' WebUIs come from.
pub enum WebUis {
    /// Agones: warm GameServers of a Fleet per template, each allocated to one user at a time.
    Fleet { servers: Box<GameServers>, fleets: Vec<String> },
    /// OpenKruiseGame: each user's own instance of a template (`--templates`).
    Instances(Box<Instances>),
}

/// Whose WebUI: a user, and with templates which of their instances.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub email: &'a str,
    pub template: Option<&'a str>,
    /// Whether this request may start a stopped instance (not one another site's page made
    /// the browser send: starting takes a GPU).
    pub may_start: bool,
}

impl<'a> Who<'a> {
    /// The user's key in Redis and in the router's memory: the e-mail itself without templates
    /// (no copy per request).
    pub fn key(&self) -> std::borrow::Cow<'a, str> {
        match self.template {
            Some(t) => format!("{t}/{}", self.email).into(),
            None => self.email.into(),
        }
    }
}

/// How long a waiting user keeps their place in the queue after their page last polled (the
/// page polls every `pages::REFRESH_SECS`); then the next in line moves up.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

/// A user waiting for a WebUI: their place in the queue (0: next to be served).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub place: u64,
}

#[derive(Debug)]
pub enum AssignError {
    /// No Ready GameServer is free (or others wait before this user).
    NoCapacity(Wait),
    /// The user's instance is starting (what it waits for).
    Starting(String),
    /// No such template.
    NoTemplate(String),
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
    webuis: WebUis,
    verified_for: Duration,
    queue_timeout: Duration,
    verified: Mutex<Remembered>,
}

#[derive(Default)]
struct Remembered {
    by_user: FastMap<String, Checked>,
    /// Numbers each stored entry, so that a background check stores its answer only over the
    /// entry it checked (never over a newer one, e.g. a WebUI found after the old one failed).
    generation: u64,
}

/// A mapping as last checked, and whether a background check of it is running.
struct Checked {
    assigned: Assigned,
    /// Its last successful check.
    at: Instant,
    /// No background check before this (set after a failed one).
    next_check: Instant,
    checking: bool,
    generation: u64,
}

/// What the cache says of a user.
enum Cached {
    Fresh(Assigned),
    /// Usable while the caller checks it in the background (the entry's generation).
    Stale(Assigned, u64),
    Unknown,
}

impl Assigner {
    pub fn new(store: Store, webuis: WebUis, verified_for: Duration, queue_timeout: Duration) -> Self {
        Self { store, webuis, verified_for, queue_timeout, verified: Mutex::new(Remembered::default()) }
    }

    pub fn webuis(&self) -> &WebUis {
        &self.webuis
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The user's WebUI, allocating (or starting) one if needed.
    pub async fn assign(self: &Arc<Self>, who: Who<'_>) -> Result<Assigned, AssignError> {
        let key = who.key();
        match self.cached(&key) {
            Cached::Fresh(hit) => return Ok(hit),
            Cached::Stale(hit, generation) => {
                let (me, email, template) = (self.clone(), who.email.to_string(), who.template.map(String::from));
                let may_start = who.may_start;
                tokio::spawn(async move {
                    me.recheck(Who { email: &email, template: template.as_deref(), may_start }, generation).await
                });
                return Ok(hit);
            }
            Cached::Unknown => {}
        }
        let found = self.look_up(who).await?;
        Ok(self.remember(&key, found, None))
    }

    /// The user's WebUI from Redis and Kubernetes (not the cache), allocating one if needed.
    async fn look_up(&self, who: Who<'_>) -> Result<Assigned, AssignError> {
        let label = user::label(who.email);
        let key = who.key();
        if let Some(found) = self.valid_mapping(who, &label).await? {
            return Ok(found);
        }
        let deadline = Instant::now() + LOCK_WAIT;
        let lock = loop {
            if let Some(lock) = self.store.try_lock(&key, LOCK_TTL).await? {
                break lock;
            }
            if Instant::now() > deadline {
                return Err(
                    anyhow::anyhow!("another request of this user has held the allocation lock too long").into()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Some(found) = self.valid_mapping(who, &label).await? {
                return Ok(found);
            }
        };
        let result = self.assign_locked(who, &label, &lock).await;
        if let Err(e) = self.store.unlock(lock).await {
            tracing::warn!(user = who.email, error = %e, "could not release the allocation lock (it expires by itself)");
        }
        result
    }

    /// Under the lock: look again, re-find, or allocate (start), and store the mapping.
    async fn assign_locked(&self, who: Who<'_>, label: &str, lock: &Lock) -> Result<Assigned, AssignError> {
        if let Some(found) = self.valid_mapping(who, label).await? {
            return Ok(found);
        }
        let email = who.email;
        let (name, target, how) = match (&self.webuis, who.template) {
            (WebUis::Fleet { servers, fleets }, template) => {
                let Some(fleet) = template.or(fleets.first().map(String::as_str)) else {
                    return Err(anyhow::anyhow!("no Fleet to allocate from").into());
                };
                let (gs, how) = match servers.find_allocated(fleet, label, email).await? {
                    Some(gs) => (gs, "found"),
                    None => (self.allocate_in_turn(servers, who, fleet, label).await?, "allocated"),
                };
                (gs.name, gs.target.unwrap_or_default(), how)
            }
            (WebUis::Instances(instances), Some(template)) => {
                let instance = match instances.start(template, label, email, who.may_start).await {
                    Ok(i) => i,
                    Err(StartError::NoTemplate(t)) => return Err(AssignError::NoTemplate(t)),
                    Err(StartError::Busy(why)) => return Err(AssignError::Starting(why)),
                    Err(StartError::Backend(e)) => return Err(e.into()),
                };
                match (instance.state, instance.target) {
                    (State::Ready, Some(target)) => (instance.pod, target, "started"),
                    (State::Starting(why), _) => return Err(AssignError::Starting(why)),
                    // Just asked to run: OpenKruise makes its pod in a moment.
                    (State::Stopped, _) if who.may_start => {
                        return Err(AssignError::Starting("your instance is being made".into()));
                    }
                    (State::Stopped, _) => return Err(AssignError::Starting(NOT_STARTED.into())),
                    (state, _) => return Err(AssignError::Starting(state.word().into())),
                }
            }
            (WebUis::Instances(_), None) => {
                return Err(anyhow::anyhow!("no template chosen for {email}").into());
            }
        };
        let key = who.key();
        let mapping = Mapping { target: target.clone(), gameserver: name.clone(), lastaccess: now_unix() };
        if !self.store.put_fenced(&key, &mapping, lock).await? {
            // Our lock expired: another request owns the user's mapping now; use what it stored.
            tracing::warn!(user = email, gameserver = %name, "allocation lock lost before storing the mapping");
            return match self.valid_mapping(who, label).await? {
                Some(found) => Ok(found),
                None => {
                    Err(anyhow::anyhow!("lost the allocation lock of {email}; the next request tries again").into())
                }
            };
        }
        tracing::info!(user = email, gameserver = %name, target = %target, how, "assigned a WebUI");
        Ok(Assigned { target: target.into(), gameserver: name.into(), how })
    }

    /// A new allocation, in arrival order: while others wait for a WebUI of the Fleet, a user
    /// takes their place in its queue, and allocates only while fewer are ahead of them than
    /// WebUIs are free (several free at once serve as many, in order); whoever finds no free
    /// WebUI joins the queue. A place is kept while the user's page keeps polling.
    async fn allocate_in_turn(
        &self,
        servers: &GameServers,
        who: Who<'_>,
        fleet: &str,
        label: &str,
    ) -> Result<crate::runtime::gameservers::GameServer, AssignError> {
        let (email, prefix) = (who.email, crate::runtime::store::mapping_prefix(who.template));
        let place = self.store.queue_place(fleet, email, &prefix, self.queue_timeout, false).await?;
        if let Some(place @ 1..) = place {
            // Not knowing how many are free, the user waits their turn.
            let free = match servers.list(&format!("agones.dev/fleet={fleet}")).await {
                Ok(list) => list.iter().filter(|g| g.state == "Ready" && !g.deleting).count() as u64,
                Err(e) => {
                    tracing::warn!(user = email, error = %format!("{e:#}"), "cannot count free WebUIs");
                    0
                }
            };
            if place >= free {
                return Err(AssignError::NoCapacity(Wait { place }));
            }
        }
        match servers.allocate(fleet, label, email).await? {
            Some(gs) => {
                if place.is_some()
                    && let Err(e) = self.store.queue_leave(fleet, email).await
                {
                    // The next poll of anyone in the queue drops users who have a mapping.
                    tracing::warn!(user = email, error = %format!("{e:#}"), "could not leave the queue");
                }
                Ok(gs)
            }
            None => {
                let place = self.store.queue_place(fleet, email, &prefix, self.queue_timeout, true).await?.unwrap_or(0);
                tracing::info!(user = email, fleet, place, "no free GameServer: waiting in line");
                Err(AssignError::NoCapacity(Wait { place }))
            }
        }
    }

    /// The stored mapping, if its WebUI still serves this user at the same address.
    async fn valid_mapping(&self, who: Who<'_>, label: &str) -> anyhow::Result<Option<Assigned>> {
        let key = who.key();
        let Some(m) = self.store.get(&key).await? else { return Ok(None) };
        match self.webuis.serving(&m.gameserver, label, who.email).await? {
            Ok(target) if target == m.target => {
                Ok(Some(Assigned { target: m.target.into(), gameserver: m.gameserver.into(), how: "mapping" }))
            }
            other => {
                let why = other.err().unwrap_or_else(|| "at another address".to_string());
                tracing::warn!(user = who.email, gameserver = %m.gameserver, state = %why, "stale mapping: finding another WebUI");
                // Dropped (unless it changed meanwhile): a mapping never outlives its WebUI.
                self.store.remove_if(&key, &m.gameserver, None).await?;
                Ok(None)
            }
        }
    }

    fn cached(&self, email: &str) -> Cached {
        match self.verified.lock() {
            Ok(mut remembered) => remembered.cached(email, self.verified_for),
            Err(_) => Cached::Unknown,
        }
    }

    /// The background check of a stale mapping, as a request without the cache would make it:
    /// renewed when it still holds, repaired or replaced when it does not (under the user's
    /// lock), forgotten when no WebUI is free, kept as it was when Redis or Kubernetes cannot
    /// say (checked again a period later; it ages out after `STALE_FACTOR` periods). Its answer
    /// replaces only the entry it checked.
    async fn recheck(&self, who: Who<'_>, generation: u64) {
        let key = who.key();
        match self.look_up(who).await {
            Ok(found) => {
                self.remember(&key, found, Some(generation));
            }
            Err(AssignError::NoCapacity(_) | AssignError::Starting(_) | AssignError::NoTemplate(_)) => {
                self.forget_if(&key, Some(generation))
            }
            Err(AssignError::Backend(e)) => {
                tracing::warn!(user = who.email, error = %format!("{e:#}"), "cannot re-check the user's WebUI; still using it");
                if let Ok(mut remembered) = self.verified.lock() {
                    remembered.check_failed(&key, generation, self.verified_for);
                }
            }
        }
    }

    fn remember(&self, email: &str, a: Assigned, over: Option<u64>) -> Assigned {
        if let Ok(mut remembered) = self.verified.lock() {
            remembered.store(email, &a, over, self.verified_for);
        }
        a
    }

    fn forget_if(&self, email: &str, generation: Option<u64>) {
        if let Ok(mut remembered) = self.verified.lock() {
            remembered.forget(email, generation);
        }
    }

    /// Forget the verified mapping (its WebUI stopped answering): the next request re-checks it.
    pub fn forget(&self, who: Who<'_>) {
        self.forget_if(&who.key(), None);
    }
}

impl WebUis {
    /// The state of the user's WebUI of `template`: None when they have none (and, with
    /// OpenKruiseGame, no disk either).
    pub async fn user_state(&self, template: &str, label: &str, email: &str) -> anyhow::Result<Option<State>> {
        Ok(match self {
            WebUis::Fleet { servers, .. } => {
                servers.find_allocated(template, label, email).await?.map(|_| State::Ready)
            }
            WebUis::Instances(instances) => match instances.user_id(template, label, email).await? {
                Some(id) => Some(instances.instance(template, id).await?.state),
                None => None,
            },
        })
    }

    /// Whether users have disks of their own (OpenKruiseGame), which they may delete.
    pub fn has_disks(&self) -> bool {
        matches!(self, WebUis::Instances(_))
    }

    /// Stops the user's WebUI of `template` (Agones: releases it), and with `delete_disk` deletes
    /// their disk of it. Returns what was done, for the logs.
    pub async fn release(&self, template: &str, label: &str, email: &str, delete_disk: bool) -> anyhow::Result<()> {
        match self {
            WebUis::Fleet { servers, .. } => {
                if let Some(gs) = servers.find_allocated(template, label, email).await?
                    && servers.delete(&gs.name, gs.resource_version.as_deref()).await?
                {
                    tracing::info!(user = email, gameserver = %gs.name, "WebUI released by its user");
                }
            }
            WebUis::Instances(instances) => {
                if let Some(id) = instances.user_id(template, label, email).await? {
                    if instances.stop(template, id).await? {
                        tracing::info!(user = email, template, id, "instance stopped by its user");
                    }
                    let claim = format!("{}-{template}-{id}", crate::runtime::instances::DATA_CLAIM);
                    if delete_disk && instances.delete_disk(&claim).await? {
                        tracing::info!(user = email, template, id, "disk deleted by its user");
                    }
                }
            }
        }
        Ok(())
    }

    /// The address of WebUI `name` if it still serves this user, else why not (for the logs).
    pub async fn serving(&self, name: &str, label: &str, email: &str) -> anyhow::Result<Result<String, String>> {
        Ok(match self {
            WebUis::Fleet { servers, .. } => match servers.get(name).await? {
                Some(gs) if gs.serves(label, email) => gs.target.ok_or_else(|| "without an address".to_string()),
                Some(gs) => Err(format!("{} to {}", gs.state, gs.user_label.unwrap_or_default())),
                None => Err("gone".to_string()),
            },
            WebUis::Instances(instances) => {
                instances.serving(name, label, email).await?.ok_or_else(|| "not ready, or not this user's".to_string())
            }
        })
    }
}

impl Remembered {
    /// Fresh; stale (then marked as being checked, so that only this caller checks it; while
    /// that runs, or after a failed check, others get it as fresh); or unknown (never checked,
    /// or not successfully checked for `STALE_FACTOR` periods).
    fn cached(&mut self, email: &str, verified_for: Duration) -> Cached {
        let Some(entry) = self.by_user.get_mut(email) else { return Cached::Unknown };
        let age = entry.at.elapsed();
        if age >= verified_for * STALE_FACTOR {
            return Cached::Unknown;
        }
        let hit = Assigned { how: "cached", ..entry.assigned.clone() };
        if age < verified_for || entry.checking || Instant::now() < entry.next_check {
            return Cached::Fresh(hit);
        }
        entry.checking = true;
        Cached::Stale(hit, entry.generation)
    }

    /// Stores `a` as checked now, unless `over` names an entry that has been replaced or
    /// forgotten meanwhile.
    fn store(&mut self, email: &str, a: &Assigned, over: Option<u64>, verified_for: Duration) {
        if let Some(generation) = over
            && self.by_user.get(email).is_none_or(|e| e.generation != generation)
        {
            return;
        }
        if self.by_user.len() >= REMEMBERED_MAX {
            self.by_user.retain(|_, e| e.at.elapsed() < verified_for * STALE_FACTOR);
        }
        self.generation += 1;
        let now = Instant::now();
        let entry =
            Checked { assigned: a.clone(), at: now, next_check: now, checking: false, generation: self.generation };
        self.by_user.insert(email.to_string(), entry);
    }

    /// A background check of entry `generation` could not tell: used as it is for another period.
    fn check_failed(&mut self, email: &str, generation: u64, verified_for: Duration) {
        if let Some(entry) = self.by_user.get_mut(email)
            && entry.generation == generation
        {
            entry.checking = false;
            entry.next_check = Instant::now() + verified_for;
        }
    }

    /// Forgets the user's entry (only if it is still entry `generation`, when given).
    fn forget(&mut self, email: &str, generation: Option<u64>) {
        if self.by_user.get(email).is_some_and(|e| generation.is_none_or(|g| e.generation == g)) {
            self.by_user.remove(email);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(target: &str) -> Assigned {
        Assigned { target: target.into(), gameserver: format!("gs-{target}").into(), how: "mapping" }
    }

    fn target(c: &Cached) -> Option<(&str, bool)> {
        match c {
            Cached::Fresh(a) => Some((&*a.target, false)),
            Cached::Stale(a, _) => Some((&*a.target, true)),
            Cached::Unknown => None,
        }
    }

    #[test]
    fn a_stale_mapping_is_checked_once_and_a_late_answer_never_replaces_a_newer_one() {
        let period = Duration::from_millis(200);
        let mut r = Remembered::default();
        r.store("ann", &at("10.8.0.7:7860"), None, period);
        assert_eq!(target(&r.cached("ann", period)), Some(("10.8.0.7:7860", false)));
        std::thread::sleep(period + Duration::from_millis(20));
        // Stale: the first caller checks it, the others use it meanwhile.
        let Cached::Stale(_, checked) = r.cached("ann", period) else { panic!("stale") };
        assert_eq!(target(&r.cached("ann", period)), Some(("10.8.0.7:7860", false)));
        // Meanwhile a request found it dead and stored another WebUI: the check's late answer
        // (the old WebUI) is dropped, as is its "no capacity" forgetting.
        r.forget("ann", None);
        r.store("ann", &at("10.8.0.9:7860"), None, period);
        r.store("ann", &at("10.8.0.7:7860"), Some(checked), period);
        r.forget("ann", Some(checked));
        assert_eq!(target(&r.cached("ann", period)), Some(("10.8.0.9:7860", false)));
        // A failed check keeps the entry for another period, then it is checked again; never
        // used past `STALE_FACTOR` periods without a successful check.
        std::thread::sleep(period + Duration::from_millis(20));
        let Cached::Stale(_, g) = r.cached("ann", period) else { panic!("stale") };
        r.check_failed("ann", g, period);
        assert_eq!(target(&r.cached("ann", period)), Some(("10.8.0.9:7860", false)));
        std::thread::sleep(period * STALE_FACTOR);
        assert!(matches!(r.cached("ann", period), Cached::Unknown));
        assert!(matches!(r.cached("bob", period), Cached::Unknown));
    }
}
