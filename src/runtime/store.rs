//! The user -> GameServer map in Redis (design.md): hash `sdctl:user:<email>` with fields
//! `target` (address:port), `gameserver` (name) and `lastaccess` (unix seconds); a per-user
//! allocation lock `sdctl:lock:<email>` (`SET NX` with a TTL, released only by its holder).
//!
//! The AUTH string comes from the environment and never appears in logs or errors: the URL is
//! only ever shown as `redis://host:port`.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

pub const USER_PREFIX: &str = "sdctl:user:";
const LOCK_PREFIX: &str = "sdctl:lock:";
/// When reclaim first saw something (an instance whose pod was not made), by what it saw.
const SEEN_PREFIX: &str = "sdctl:seen:";
/// Users waiting for a WebUI of a Fleet, in arrival order: sorted set `sdctl:queue:<fleet>`
/// (member: e-mail, score: arrival in unix milliseconds) and hash `sdctl:queue-seen:<fleet>`
/// (e-mail -> their page's last poll), by which a user who left is dropped.
const QUEUE_PREFIX: &str = "sdctl:queue:";
const QUEUE_SEEN_PREFIX: &str = "sdctl:queue-seen:";

/// How to reach Redis: `redis://host:6379` or `rediss://host:6378` (TLS), the AUTH string
/// separately, and for TLS the server's CA (Memorystore's is per instance).
#[derive(Clone)]
pub struct RedisOptions {
    pub url: String,
    pub password: Option<String>,
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOptions").field("url", &redact(&self.url)).finish_non_exhaustive()
    }
}

/// `redis://:secret@10.0.0.3:6379/0` -> `redis://10.0.0.3:6379/0`.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map(|(_, host)| host).unwrap_or(rest);
            format!("{scheme}://{rest}")
        }
        None => "<invalid redis url>".to_string(),
    }
}

/// One user's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub target: String,
    pub gameserver: String,
    pub lastaccess: i64,
}

/// A held allocation lock (its random token proves ownership on release).
#[derive(Debug)]
pub struct Lock {
    key: String,
    token: String,
}

#[derive(Clone)]
pub struct Store {
    conn: ConnectionManager,
}

/// HSET lastaccess only while the mapping exists (reclaim may have just removed it).
const TOUCH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSET', KEYS[1], 'lastaccess', ARGV[1])
end
return -1";

/// DEL the lock only if we still hold it.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// HSET the mapping only while the allocation lock is still ours: a router whose lock expired
/// (a slow Kubernetes call) must not overwrite what the next holder stored.
const PUT_FENCED: &str = r"
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'target', ARGV[2], 'gameserver', ARGV[3], 'lastaccess', ARGV[4])
return 1";

/// DEL a mapping only if it still points at this GameServer (and, when given, was not touched
/// since it was read): reclaim never removes a mapping the router just renewed.
const REMOVE_IF: &str = r"
if redis.call('HGET', KEYS[1], 'gameserver') ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'lastaccess') ~= ARGV[2] then return 0 end
return redis.call('DEL', KEYS[1])";

/// The user's place in the queue (0: first), after dropping everyone whose page has not polled
/// within the timeout (the user too: they join again at the back) and everyone who has a WebUI
/// mapping by now (served, in case taking them out failed). Not in it: joins when ARGV[3] is 1 or
/// others wait already (a newcomer never overtakes them), else -1 (no queue). Times are Redis's
/// own (`TIME`), one clock for every router; both keys expire when nobody has polled for a
/// while, so no address stays behind.
/// KEYS: queue, seen. ARGV: e-mail, timeout (ms), join, the mapping key's prefix.
const QUEUE_PLACE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local timeout = tonumber(ARGV[2])
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local seen = tonumber(redis.call('HGET', KEYS[2], member) or '0')
  if now - seen > timeout or redis.call('EXISTS', ARGV[4] .. member) == 1 then
    redis.call('ZREM', KEYS[1], member)
    redis.call('HDEL', KEYS[2], member)
  end
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == false then
  if ARGV[3] ~= '1' and redis.call('ZCARD', KEYS[1]) == 0 then return -1 end
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], now)
redis.call('PEXPIRE', KEYS[1], timeout * 2)
redis.call('PEXPIRE', KEYS[2], timeout * 2)
return redis.call('ZRANK', KEYS[1], ARGV[1])";

fn user_key(email: &str) -> String {
    format!("{USER_PREFIX}{email}")
}

/// What the mapping keys of a Fleet's users start with (`Who::key`: `<template>/<email>` with
/// templates).
pub fn mapping_prefix(template: Option<&str>) -> String {
    match template {
        Some(t) => format!("{USER_PREFIX}{t}/"),
        None => USER_PREFIX.to_string(),
    }
}

impl Store {
    /// Connects (and reconnects on its own later). Fails with the host named, never the secret.
    pub async fn connect(options: &RedisOptions) -> anyhow::Result<Self> {
        let shown = redact(&options.url);
        let mut info = redis::IntoConnectionInfo::into_connection_info(options.url.as_str())
            .map_err(|e| anyhow::anyhow!("invalid Redis URL {shown}: {}", describe(&e)))?;
        if let Some(password) = options.password.as_deref().filter(|p| !p.is_empty()) {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = match &options.ca_pem {
            Some(ca) => redis::Client::build_with_tls(
                info,
                redis::TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) },
            ),
            None => redis::Client::open(info),
        }
        .map_err(|e| anyhow::anyhow!("cannot use Redis at {shown}: {}", describe(&e)))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(3);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {shown}: {}", describe(&e)))?;
        Ok(Self { conn })
    }

    pub async fn get(&self, email: &str) -> anyhow::Result<Option<Mapping>> {
        let mut conn = self.conn.clone();
        let fields: std::collections::HashMap<String, String> =
            conn.hgetall(user_key(email)).await.map_err(|e| redis_error("read a mapping", &e))?;
        Ok(parse_mapping(&fields))
    }

    /// Stores the mapping while `lock` is still held; false when the lock was lost meanwhile.
    pub async fn put_fenced(&self, email: &str, m: &Mapping, lock: &Lock) -> anyhow::Result<bool> {
        let mut conn = self.conn.clone();
        let stored: i64 = redis::Script::new(PUT_FENCED)
            .key(user_key(email))
            .key(&lock.key)
            .arg(&lock.token)
            .arg(&m.target)
            .arg(&m.gameserver)
            .arg(m.lastaccess)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| redis_error("store a mapping", &e))?;
        Ok(stored == 1)
    }

    /// When `what` was first seen (`now` if this is the first time); forgotten after `ttl`.
    pub async fn first_seen(&self, what: &str, now: i64, ttl: Duration) -> anyhow::Result<i64> {
        let mut conn = self.conn.clone();
        let key = format!("{SEEN_PREFIX}{what}");
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(now)
            .arg("NX")
            .arg("EX")
            .arg(ttl.as_secs().max(1))
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error("record when something was first seen", &e))?;
        let seen: Option<i64> =
            conn.get(&key).await.map_err(|e| redis_error("read when something was first seen", &e))?;
        Ok(seen.unwrap_or(now))
    }

    /// Records activity (no-op when the mapping is gone).
    pub async fn touch(&self, email: &str, now: i64) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::Script::new(TOUCH)
            .key(user_key(email))
            .arg(now)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| redis_error("record activity", &e))?;
        Ok(())
    }

    /// Takes the user's allocation lock for `ttl`, or None when someone else holds it.
    pub async fn try_lock(&self, email: &str, ttl: Duration) -> anyhow::Result<Option<Lock>> {
        let mut conn = self.conn.clone();
        let key = format!("{LOCK_PREFIX}{email}");
        let token = format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>());
        let set: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(&mut conn)
            .await
            .map_err(|e| redis_error("take the allocation lock", &e))?;
        Ok(set.map(|_| Lock { key, token }))
    }

    pub async fn unlock(&self, lock: Lock) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = redis::Script::new(UNLOCK)
            .key(&lock.key)
            .arg(&lock.token)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| redis_error("release the allocation lock", &e))?;
        Ok(())
    }

    /// Removes the mapping if it still names `gameserver` (and still has `lastaccess`, when
    /// given). Returns whether it was removed.
    pub async fn remove_if(&self, email: &str, gameserver: &str, lastaccess: Option<i64>) -> anyhow::Result<bool> {
        let mut conn = self.conn.clone();
        let removed: i64 = redis::Script::new(REMOVE_IF)
            .key(user_key(email))
            .arg(gameserver)
            .arg(lastaccess.map(|l| l.to_string()).unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| redis_error("remove a mapping", &e))?;
        Ok(removed == 1)
    }

    /// Removes a mapping whatever it holds (an unreadable one).
    pub async fn remove(&self, email: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: i64 = conn.del(user_key(email)).await.map_err(|e| redis_error("remove a mapping", &e))?;
        Ok(())
    }

    /// The user's place (0: first) in the queue of `fleet`, keeping it while their page polls
    /// within `timeout`; None when nobody waits and `join` is false. `mapping_prefix`: what a
    /// member's WebUI mapping key starts with (`mapping_prefix`).
    pub async fn queue_place(
        &self,
        fleet: &str,
        email: &str,
        mapping_prefix: &str,
        timeout: Duration,
        join: bool,
    ) -> anyhow::Result<Option<u64>> {
        let mut conn = self.conn.clone();
        let place: i64 = redis::Script::new(QUEUE_PLACE)
            .key(format!("{QUEUE_PREFIX}{fleet}"))
            .key(format!("{QUEUE_SEEN_PREFIX}{fleet}"))
            .arg(email)
            .arg(timeout.as_millis() as u64)
            .arg(if join { "1" } else { "0" })
            .arg(mapping_prefix)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| redis_error("keep the user's place in the queue", &e))?;
        Ok(u64::try_from(place).ok())
    }

    /// The user got a WebUI (or gave up): out of the queue.
    pub async fn queue_leave(&self, fleet: &str, email: &str) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        redis::pipe()
            .zrem(format!("{QUEUE_PREFIX}{fleet}"), email)
            .hdel(format!("{QUEUE_SEEN_PREFIX}{fleet}"), email)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| redis_error("take the user out of the queue", &e))
    }

    /// Who waits for a WebUI of `fleet`, first in line first, with when their page last polled,
    /// and Redis's time now
    /// (unix milliseconds, Redis's clock); users who left may still be listed until the next poll
    /// drops them.
    pub async fn queue(&self, fleet: &str) -> anyhow::Result<(Vec<(String, i64)>, i64)> {
        let mut conn = self.conn.clone();
        let (secs, micros): (i64, i64) =
            redis::cmd("TIME").query_async(&mut conn).await.map_err(|e| redis_error("read Redis's clock", &e))?;
        let members: Vec<String> = conn
            .zrange(format!("{QUEUE_PREFIX}{fleet}"), 0, -1)
            .await
            .map_err(|e| redis_error("read the queue", &e))?;
        let seen: std::collections::HashMap<String, i64> =
            conn.hgetall(format!("{QUEUE_SEEN_PREFIX}{fleet}")).await.map_err(|e| redis_error("read the queue", &e))?;
        let now = secs * 1000 + micros / 1000;
        Ok((members.into_iter().map(|m| (m.clone(), seen.get(&m).copied().unwrap_or(0))).collect(), now))
    }

    /// Every user with a mapping key (SCAN, so a big keyspace does not block Redis), with the
    /// mapping when it is complete.
    pub async fn users(&self) -> anyhow::Result<Vec<(String, Option<Mapping>)>> {
        let mut conn = self.conn.clone();
        let mut keys: Vec<String> = Vec::new();
        {
            let mut iter: redis::AsyncIter<String> =
                conn.scan_match(format!("{USER_PREFIX}*")).await.map_err(|e| redis_error("list the mappings", &e))?;
            while let Some(key) = futures::StreamExt::next(&mut iter).await {
                keys.push(key.map_err(|e| redis_error("list the mappings", &e))?);
            }
        }
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let email = key.trim_start_matches(USER_PREFIX).to_string();
            let fields: std::collections::HashMap<String, String> =
                conn.hgetall(&key).await.map_err(|e| redis_error("read a mapping", &e))?;
            out.push((email, parse_mapping(&fields)));
        }
        Ok(out)
    }
}

fn parse_mapping(fields: &std::collections::HashMap<String, String>) -> Option<Mapping> {
    Some(Mapping {
        target: fields.get("target").filter(|t| !t.is_empty())?.clone(),
        gameserver: fields.get("gameserver").filter(|g| !g.is_empty())?.clone(),
        lastaccess: fields.get("lastaccess").and_then(|l| l.parse().ok()).unwrap_or(0),
    })
}

/// A Redis error in words, without the connection details it might carry.
fn describe(e: &redis::RedisError) -> String {
    match e.kind() {
        redis::ErrorKind::AuthenticationFailed => "authentication failed (check the AUTH string)".to_string(),
        kind => {
            let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
            format!("{kind:?}{detail}")
        }
    }
}

fn redis_error(action: &str, e: &redis::RedisError) -> anyhow::Error {
    anyhow::anyhow!("Redis: cannot {action}: {}", describe(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(redact("redis://:s3cret@10.0.0.3:6379/0"), "redis://10.0.0.3:6379/0");
        assert_eq!(redact("rediss://default:s3cret@redis.internal:6378"), "rediss://redis.internal:6378");
        assert_eq!(redact("redis://10.0.0.3:6379"), "redis://10.0.0.3:6379");
        let o = RedisOptions { url: "redis://:pw@h:1".into(), password: Some("pw2".into()), ca_pem: None };
        let shown = format!("{o:?}");
        assert!(!shown.contains("pw"), "{shown}");
    }
}
