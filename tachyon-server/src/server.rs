//! The accept loop, connection tracking and graceful shutdown.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::conn::ConnShared;
use crate::dispatch::{Dispatch, Peer};

/// Asks a server to shut down gracefully. Cheap to clone, `Send` and `Sync`: any thread (a
/// signal handler's, the host's) may use it.
#[derive(Clone)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("requested", &*self.tx.borrow())
            .finish()
    }
}

impl ShutdownHandle {
    /// Starts graceful shutdown: the server stops accepting (its listening socket is closed),
    /// idle keep-alive connections are closed, requests in flight are answered (with
    /// `connection: close`) for up to [`Config::shutdown_timeout`](crate::Config::shutdown_timeout),
    /// then the connections still open are closed. Calling it again does nothing.
    pub fn shutdown(&self) {
        self.tx.send_replace(true);
    }

    /// Whether shutdown has been asked for.
    pub fn is_requested(&self) -> bool {
        *self.tx.borrow()
    }
}

/// A running server: its address, and the handles to stop it and to wait for it.
#[derive(Debug)]
pub struct ServerHandle {
    shutdown: ShutdownHandle,
    stopped: watch::Receiver<bool>,
    local_addr: Option<SocketAddr>,
}

impl ServerHandle {
    /// The TCP address the server listens on (`None` for a Unix socket).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// A handle that starts graceful shutdown (see [`ShutdownHandle::shutdown`]).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Starts graceful shutdown (see [`ShutdownHandle::shutdown`]).
    pub fn shutdown(&self) {
        self.shutdown.shutdown();
    }

    /// Whether the server has stopped: its listener is closed and every connection is gone.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Resolves once the server has stopped (see [`ServerHandle::is_stopped`]). Run it on the
    /// server's [`Runtime`](crate::Runtime), for example with
    /// [`Runtime::block_on`](crate::Runtime::block_on).
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        // The sender lives until the accept loop has set it to true, so an error cannot
        // happen before that; either way the server is gone.
        let _ = stopped.wait_for(|s| *s).await;
    }
}

/// A listening socket registered with the running tokio runtime.
pub(crate) enum Accepting {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

/// Resolves when shutdown is asked for (never, if the handle is gone without asking).
async fn requested(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Whether an accept error concerns only the connection being accepted (retry at once), as
/// opposed to the process (out of descriptors or memory: wait a little before retrying).
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

pub(crate) fn start<D: Dispatch>(
    listener: Accepting,
    shared: ConnShared<D>,
) -> (ServerHandle, impl std::future::Future<Output = ()>) {
    let (tx, rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    let local_addr = match &listener {
        Accepting::Tcp(l) => l.local_addr().ok(),
        Accepting::Unix(_) => None,
    };
    let shutdown = ShutdownHandle { tx: Arc::new(tx) };
    let handle = ServerHandle {
        shutdown: shutdown.clone(),
        stopped: done_rx,
        local_addr,
    };
    let task = accept_loop(listener, Rc::new(shared), shutdown, rx, done_tx);
    (handle, task)
}

async fn accept_loop<D: Dispatch>(
    listener: Accepting,
    shared: Rc<ConnShared<D>>,
    // Held so the shutdown channel stays open while the loop runs.
    _shutdown: ShutdownHandle,
    stop: watch::Receiver<bool>,
    done: watch::Sender<bool>,
) {
    let mut conns = JoinSet::new();
    let max = shared.config.max_connections.max(1);
    let stop_requested = requested(stop.clone());
    tokio::pin!(stop_requested);
    loop {
        let room = conns.len() < max;
        tokio::select! {
            biased;
            () = &mut stop_requested => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = accept(&listener), if room => match accepted {
                Ok(Accepted::Tcp(stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let shared = shared.clone();
                    let stop = requested(stop.clone());
                    conns.spawn_local(async move { serve_maybe_tls(&shared, stream, peer, stop).await });
                }
                Ok(Accepted::Unix(stream)) => {
                    let shared = shared.clone();
                    let stop = requested(stop.clone());
                    conns.spawn_local(async move { serve_maybe_tls(&shared, stream, Peer::default(), stop).await });
                }
                Err(e) if per_connection(&e) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(shared.config.shutdown_timeout, drain).await;
    conns.shutdown().await;
    done.send_replace(true);
}

/// Serves one accepted connection, through a TLS handshake first if the server has TLS (a
/// handshake that fails or takes longer than the header read deadline closes it).
async fn serve_maybe_tls<D: Dispatch, S>(
    shared: &ConnShared<D>,
    stream: S,
    peer: Peer,
    stop: impl std::future::Future<Output = ()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let Some(tls) = &shared.config.tls else {
        return shared.serve(stream, peer, stop).await;
    };
    let handshake = tls.acceptor.accept(stream);
    if let Ok(Ok(stream)) = tokio::time::timeout(shared.config.header_read_timeout, handshake).await
    {
        shared.serve(stream, peer, stop).await;
    }
}

enum Accepted {
    Tcp(tokio::net::TcpStream, Peer),
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Accepting) -> io::Result<Accepted> {
    match listener {
        Accepting::Tcp(l) => {
            let (stream, remote) = l.accept().await?;
            let peer = Peer {
                remote: Some(remote),
                local: stream.local_addr().ok(),
            };
            Ok(Accepted::Tcp(stream, peer))
        }
        Accepting::Unix(l) => Ok(Accepted::Unix(l.accept().await?.0)),
    }
}
