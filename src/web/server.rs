//! The HTTP/1.1 connection loop: hyper with the limits of [`crate::limits::LIMITS`] on every
//! connection, which `axum::serve` does not let one set.
//!
//! - a client has [`Limits::header_read_s`](crate::limits::Limits) to send a request's header
//!   lines, also while a kept-alive connection waits for its next request (slow or silent
//!   connections are closed);
//! - a response that the client does not read for [`Limits::write_stall_s`](crate::limits::Limits)
//!   closes the connection;
//! - at most [`Limits::connections`](crate::limits::Limits) connections are served at once, and
//!   at most [`Limits::connections_per_client`](crate::limits::Limits) from one address (more are
//!   closed at once), so that one client cannot take every slot;
//! - on shutdown the listener stops accepting and in-flight requests get a grace period.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;
use tower::ServiceExt;

use crate::limits::LIMITS;

/// Bytes hyper buffers for a request head at most: the hard bound behind the friendlier 431 of
/// the header-size guard (see `web::edge::GuardLayer`), which answers before this is reached.
const HEAD_BUFFER_BYTES: usize = 4 * LIMITS.header_bytes;

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// within the grace period.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(LIMITS.connections));
    let clients: Clients = Arc::default();
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(LIMITS.header_read_timeout())
        .max_buf_size(HEAD_BUFFER_BYTES)
        // Above the guard's own limit, so that the guard answers with problem+json first.
        .max_headers(2 * LIMITS.header_count)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = connections.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little, go on.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(client) = Client::admit(&clients, peer.ip()) else {
            tracing::debug!(%peer, "refused: the client holds too many connections");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut stream = TimeoutStream::new(stream);
        stream.set_write_timeout(Some(LIMITS.write_stall_timeout()));
        let io = TokioIo::new(Box::pin(stream));
        let app = app.clone();
        // The router as a hyper service, with the peer's address as `ConnectInfo`.
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(client);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(LIMITS.shutdown_grace()) => {
            tracing::warn!("in-flight requests did not finish within the grace period");
        }
    }
    Ok(())
}

/// Open connections by client address.
type Clients = Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>;

/// One client's hold on a connection slot, released when dropped.
struct Client {
    clients: Clients,
    ip: std::net::IpAddr,
}

impl Client {
    /// A slot for `ip`, unless it already holds as many connections as one client may.
    fn admit(clients: &Clients, ip: std::net::IpAddr) -> Option<Self> {
        let mut open = clients.lock().ok()?;
        let count = open.entry(ip).or_insert(0);
        if *count >= LIMITS.connections_per_client {
            return None;
        }
        *count += 1;
        Some(Client {
            clients: clients.clone(),
            ip,
        })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(mut open) = self.clients.lock()
            && let Some(count) = open.get_mut(&self.ip)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}
