//! The single-threaded runtime, and the turn-by-turn API a host event loop drives it with.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::Notify;
use tokio::task::LocalSet;

use crate::config::Config;
use crate::conn::ConnShared;
use crate::dispatch::Dispatch;
use crate::listener::Listener;
use crate::server::{self, Accepting, ServerHandle, ShutdownHandle};

/// Why [`Runtime::turn`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wakeup {
    /// The timeout passed.
    TimedOut,
    /// The host's descriptor (`wake_fd`) is readable: the host has events to process.
    HostReady,
    /// A [`WakeHandle`] asked the turn to return.
    Woken,
}

/// Interrupts a [`Runtime::turn`] from any thread. A wake that arrives while no turn is
/// running is kept: the next turn returns at once.
#[derive(Clone, Debug)]
pub struct WakeHandle {
    notify: Arc<Notify>,
}

impl WakeHandle {
    /// Makes the current turn (or the next one) return [`Wakeup::Woken`].
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

/// The host's descriptor as watched here: a duplicate this runtime owns (so it stays valid
/// while registered, whatever the host does with its own), and the host's descriptor number
/// it was made from (to know when the host passes another).
struct HostFd {
    dup: AsyncFd<OwnedFd>,
    host: RawFd,
}

/// A tokio current-thread runtime with a [`LocalSet`]: the thread every server of this
/// runtime, its connections and its dispatchers run on. It is not `Send`.
///
/// It runs only while called: [`Runtime::turn`] (a host event loop's wait),
/// [`Runtime::block_on`] or [`Runtime::run_until_stopped`].
pub struct Runtime {
    rt: tokio::runtime::Runtime,
    local: LocalSet,
    wake: Arc<Notify>,
    host: RefCell<Option<Rc<HostFd>>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("host_fd", &self.host.borrow().as_ref().map(|h| h.host))
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A new runtime on the calling thread (tokio current-thread, with I/O and timers).
    pub fn new() -> io::Result<Runtime> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Runtime {
            rt,
            local: LocalSet::new(),
            wake: Arc::new(Notify::new()),
            host: RefCell::new(None),
        })
    }

    /// A handle that interrupts [`Runtime::turn`] from any thread.
    pub fn wake_handle(&self) -> WakeHandle {
        WakeHandle {
            notify: self.wake.clone(),
        }
    }

    /// Starts serving `listener` with `dispatch` and `config`. The server runs whenever the
    /// runtime does; the returned handle stops it and tells when it has stopped.
    pub fn serve<D: Dispatch>(
        &self,
        listener: Listener,
        dispatch: D,
        config: Config,
    ) -> io::Result<ServerHandle> {
        let _entered = self.rt.enter();
        let accepting = match listener {
            Listener::Tcp(l) => Accepting::Tcp(tokio::net::TcpListener::from_std(l)?),
            Listener::Unix(l) => Accepting::Unix(tokio::net::UnixListener::from_std(l)?),
        };
        let (handle, task) = server::start(accepting, ConnShared::new(dispatch, config));
        self.local.spawn_local(task);
        Ok(handle)
    }

    /// Starts graceful shutdown of the server behind `handle` on the first SIGTERM or SIGINT
    /// the process receives (while this runtime runs). This replaces the process's default
    /// action for both signals.
    pub fn shutdown_on_signals(&self, handle: ShutdownHandle) -> io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let _entered = self.rt.enter();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        self.local.spawn_local(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            handle.shutdown();
        });
        Ok(())
    }

    /// Spawns a task on the runtime's thread; it runs whenever the runtime does.
    pub fn spawn<F: Future<Output = ()> + 'static>(&self, future: F) {
        self.local.spawn_local(future);
    }

    /// Runs the runtime (every server and task on it) until `future` completes.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.local.block_on(&self.rt, future)
    }

    /// Runs the runtime until the server behind `handle` has stopped.
    pub fn run_until_stopped(&self, handle: &ServerHandle) {
        self.block_on(handle.stopped())
    }

    /// Runs the runtime for one wait of a host event loop, then returns so the host can
    /// process its own events.
    ///
    /// Runs every server and task of this runtime until the first of: `timeout` passes
    /// (`None`: no timeout), `wake_fd` is readable, or a [`WakeHandle`] wakes it. There is
    /// one native wait for all of them: a duplicate of `wake_fd` (for an asyncio host, its
    /// selector's own epoll descriptor) is registered once in tokio's reactor, and stays
    /// registered for later turns while a descriptor of the same number is passed (passing
    /// another number replaces it). A host that closes its descriptor and may reuse the number
    /// for another calls [`Runtime::forget_wake_fd`] first.
    ///
    /// Tasks that are ready run at least once in every turn, and I/O is polled at least once,
    /// even with a zero timeout: a host that is always busy still lets the servers progress.
    /// A non-zero timeout has tokio's timer resolution (1 ms).
    pub fn turn(
        &self,
        timeout: Option<Duration>,
        wake_fd: Option<BorrowedFd<'_>>,
    ) -> io::Result<Wakeup> {
        let host = match wake_fd {
            Some(fd) => Some(self.watch(fd)?),
            None => None,
        };
        let wake = &self.wake;
        self.local.block_on(&self.rt, async move {
            // Lets the local tasks that are ready run, and the reactor poll I/O, before any
            // outcome is taken.
            tokio::task::yield_now().await;
            let host_ready = async {
                match &host {
                    Some(fd) => host_readable(&fd.dup).await,
                    None => std::future::pending().await,
                }
            };
            if timeout == Some(Duration::ZERO) {
                // Run what the reactor's poll woke, then return without sleeping.
                tokio::task::yield_now().await;
                return tokio::select! {
                    biased;
                    () = wake.notified() => Ok(Wakeup::Woken),
                    r = host_ready => r.map(|()| Wakeup::HostReady),
                    () = std::future::ready(()) => Ok(Wakeup::TimedOut),
                };
            }
            let sleep = async {
                match timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = wake.notified() => Ok(Wakeup::Woken),
                r = host_ready => r.map(|()| Wakeup::HostReady),
                () = sleep => Ok(Wakeup::TimedOut),
            }
        })
    }

    /// Stops watching the descriptor last passed to [`Runtime::turn`] as `wake_fd` (and
    /// closes this runtime's duplicate of it).
    pub fn forget_wake_fd(&self) {
        self.host.borrow_mut().take();
    }

    fn watch(&self, fd: BorrowedFd<'_>) -> io::Result<Rc<HostFd>> {
        let mut host = self.host.borrow_mut();
        if let Some(watched) = host.as_ref()
            && watched.host == fd.as_raw_fd()
        {
            return Ok(watched.clone());
        }
        host.take();
        let dup = fd.try_clone_to_owned()?;
        let _entered = self.rt.enter();
        // SAFETY: the descriptor is our own duplicate: it stays open, and names the same
        // open file description, until the `AsyncFd` that owns it is dropped.
        let dup = unsafe { AsyncFd::register_with_interest(dup, Interest::READABLE) }
            .map_err(io::Error::from)?;
        let watched = Rc::new(HostFd {
            dup,
            host: fd.as_raw_fd(),
        });
        *host = Some(watched.clone());
        Ok(watched)
    }
}

/// Resolves once `fd` is readable. tokio's readiness is edge-triggered and may be stale (the
/// host has drained its events since): a readiness already set when this starts is checked
/// with a zero-timeout `poll` and cleared if stale; a readiness that arrives while waiting
/// is fresh.
async fn host_readable(fd: &AsyncFd<OwnedFd>) -> io::Result<()> {
    let mut waited = false;
    std::future::poll_fn(|cx| {
        loop {
            match fd.poll_read_ready(cx) {
                Poll::Pending => {
                    waited = true;
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(mut guard)) => {
                    if waited {
                        return Poll::Ready(Ok(()));
                    }
                    match readable_now(fd.get_ref().as_fd()) {
                        Ok(true) => return Poll::Ready(Ok(())),
                        Ok(false) => {
                            guard.clear_ready();
                            waited = true;
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
            }
        }
    })
    .await
}

/// Whether `fd` is readable right now (a zero-timeout `poll`).
fn readable_now(fd: BorrowedFd<'_>) -> io::Result<bool> {
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `pollfd` is a valid, exclusively borrowed array of one `pollfd` for the
        // duration of the call, and a zero timeout never blocks.
        let n = unsafe { libc::poll(&mut pollfd, 1, 0) };
        if n >= 0 {
            return Ok(
                n > 0 && pollfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
            );
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Serves `listener` with `dispatch` on the calling thread until SIGTERM or SIGINT, then
/// shuts down gracefully (see [`ShutdownHandle::shutdown`]) and returns.
pub fn serve<D: Dispatch>(listener: Listener, dispatch: D, config: Config) -> io::Result<()> {
    let runtime = Runtime::new()?;
    let handle = runtime.serve(listener, dispatch, config)?;
    runtime.shutdown_on_signals(handle.shutdown_handle())?;
    runtime.run_until_stopped(&handle);
    Ok(())
}
