//! Accepting connections, as nginx's worker processes do: a few threads, each with its own
//! single-threaded runtime, take connections from one listening socket. A connection, the
//! requests it carries, their forwarded copies and the pooled connections to WebUIs then stay on
//! one thread: no task moves between threads. With tokio's work-stealing runtime, threads waking
//! each other took a large share of the router's CPU time (epoll and context switches 19%, futex
//! 10%; `cargo bench --bench router`, README).
//!
//! What the threads share (the verified tokens, the user → WebUI mapping, the Redis and
//! Kubernetes clients) is behind `Arc`s. A client's connection lives on the runtime of the thread
//! that opened it and serves the others from there, so on SIGTERM every thread keeps running until
//! all have finished their requests.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::proxy::Proxy;
use super::{Peer, Router};

/// Connections served at once (by all threads); more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 4096;
/// Connections the kernel queues before they are accepted.
const BACKLOG: i32 = 1024;
/// How long a client's connection may wait for its next request's headers. hyper's timer runs
/// from the end of the previous response, so this is also how long an idle keep-alive
/// connection stays open. Google's load balancer keeps its connections to a backend open for a
/// fixed 600 s and asks backends to keep them longer (its nginx example: 620 s): a backend that
/// closes first races the load balancer's next request on that connection, which the user gets
/// as a 502. It is also the only limit on a slow request head: clients are Google's proxies,
/// which send whole requests. Idle connections hold their slots (`MAX_CONNECTIONS`) meanwhile.
pub const CLIENT_IDLE: Duration = Duration::from_secs(620);
const _: () = assert!(CLIENT_IDLE.as_secs() > 600, "longer than the load balancer's keep-alive");
/// In-flight requests get this long to finish once SIGTERM came.
const DRAIN: Duration = Duration::from_secs(10);

/// The listening socket, bound now so that a taken port shows at once.
pub fn listen(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let bind = || -> std::io::Result<std::net::TcpListener> {
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(BACKLOG)?;
        Ok(socket.into())
    };
    bind().with_context(|| format!("cannot listen on {addr}"))
}

/// The number of serving threads when not given: one per CPU this process may use.
pub fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Serves on `threads` threads until SIGTERM (or a thread fails), then lets in-flight requests
/// finish.
pub async fn serve(listener: std::net::TcpListener, router: Arc<Router>, threads: NonZeroUsize) -> anyhow::Result<()> {
    let stopping = CancellationToken::new();
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let all_drained = Arc::new(tokio::sync::Barrier::new(threads.get()));
    let slots = (MAX_CONNECTIONS / threads.get()).max(1);
    let mut handles = Vec::with_capacity(threads.get());
    for n in 0..threads.get() {
        let thread =
            Thread { n, slots, router: router.clone(), stopping: stopping.clone(), all_drained: all_drained.clone() };
        let ended_tx = ended_tx.clone();
        let spawned =
            listener.try_clone().context("cannot share the listening socket between threads").and_then(|listener| {
                std::thread::Builder::new()
                    .name(format!("router-{n}"))
                    .stack_size(crate::THREAD_STACK)
                    .spawn(move || {
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread.run(listener)))
                            .unwrap_or_else(|_| Err(anyhow::anyhow!("it panicked")));
                        let _ = ended_tx.send((n, result));
                    })
                    .context("cannot start a serving thread")
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                stopping.cancel();
                return Err(e);
            }
        }
    }
    // The threads hold the socket now: once they stop accepting, it closes.
    drop(listener);
    drop(ended_tx);
    let failed = tokio::select! {
        () = crate::runtime::shutdown_signal() => None,
        Some((n, result)) = ended.recv() => Some(match result {
            Ok(()) => anyhow::anyhow!("serving thread {n} stopped"),
            Err(e) => e.context(format!("serving thread {n} failed")),
        }),
    };
    tracing::info!("stopping: finishing in-flight requests");
    stopping.cancel();
    let joined = tokio::task::spawn_blocking(move || {
        for handle in handles {
            if handle.join().is_err() {
                tracing::error!("a serving thread panicked");
            }
        }
    });
    let _ = joined.await;
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// What a serving thread's requests use.
struct Here {
    router: Arc<Router>,
    /// This thread's connections to WebUIs.
    proxy: Proxy,
}

/// One serving thread: its runtime, its connection pool to the WebUIs, its share of the
/// connections.
struct Thread {
    n: usize,
    slots: usize,
    router: Arc<Router>,
    stopping: CancellationToken,
    /// Met by every thread once its requests are done.
    all_drained: Arc<tokio::sync::Barrier>,
}

impl Thread {
    fn run(self, listener: std::net::TcpListener) -> anyhow::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a serving thread's runtime")?;
        let result = runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).context("cannot watch the listening socket")?;
            self.accept(listener).await;
            // Clients' connections opened here serve the other threads too: run until all are done.
            let _ = tokio::time::timeout(DRAIN, self.all_drained.wait()).await;
            anyhow::Ok(())
        });
        runtime.shutdown_timeout(Duration::from_secs(1));
        result
    }

    /// Serves connections until SIGTERM, then closes its listener and lets its requests finish.
    async fn accept(&self, listener: tokio::net::TcpListener) {
        // Requests clone this thread's handle, not the shared router's: no reference count
        // bounces between cores per request.
        let here = Arc::new(Here { router: self.router.clone(), proxy: Proxy::default() });
        let connections = TaskTracker::new();
        let slots = Arc::new(tokio::sync::Semaphore::new(self.slots));
        loop {
            let slot = tokio::select! {
                biased;
                () = self.stopping.cancelled() => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
            };
            let (stream, peer) = tokio::select! {
                biased;
                () = self.stopping.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, mostly: wait rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let connection = Arc::new((here.clone(), Peer::new(peer)));
            let service = service_fn(move |req| {
                let connection = connection.clone();
                async move {
                    let (here, peer) = &*connection;
                    Ok::<_, std::convert::Infallible>(here.router.handle(&here.proxy, req, peer).await)
                }
            });
            let stopping = self.stopping.clone();
            let client_idle = self.router.client_idle;
            connections.spawn(async move {
                let _slot = slot;
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(client_idle)
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades();
                tokio::pin!(conn);
                let result = tokio::select! {
                    result = conn.as_mut() => result,
                    () = stopping.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                };
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
            });
        }
        drop(listener);
        connections.close();
        if tokio::time::timeout(DRAIN, connections.wait()).await.is_err() {
            tracing::warn!(thread = self.n, "in-flight requests cut off after {} s", DRAIN.as_secs());
        }
    }
}
