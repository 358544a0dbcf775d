//! Listening sockets: TCP (optionally with `SO_REUSEPORT`), Unix domain sockets, or an
//! already-open descriptor.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;
use std::path::Path;

use socket2::{Domain, Socket, Type};

/// The listen backlog used when none is given (uvicorn's default).
pub const DEFAULT_BACKLOG: i32 = 2048;

/// Options for [`Listener::bind_tcp`].
#[derive(Clone, Copy, Debug)]
pub struct TcpOptions {
    /// Set `SO_REUSEPORT`, so several worker processes can each bind the same address and the
    /// kernel spreads connections among them.
    pub reuse_port: bool,
    /// The listen backlog.
    pub backlog: i32,
}

impl Default for TcpOptions {
    /// No `SO_REUSEPORT`, a backlog of [`DEFAULT_BACKLOG`].
    fn default() -> Self {
        TcpOptions {
            reuse_port: false,
            backlog: DEFAULT_BACKLOG,
        }
    }
}

/// A bound, listening socket the server accepts connections on.
#[derive(Debug)]
pub enum Listener {
    /// A TCP socket.
    Tcp(std::net::TcpListener),
    /// A Unix domain stream socket.
    Unix(UnixListener),
}

impl Listener {
    /// Binds a TCP socket to `addr` (with `SO_REUSEADDR`, and `SO_REUSEPORT` if asked) and
    /// listens on it.
    pub fn bind_tcp(addr: SocketAddr, options: TcpOptions) -> io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        if options.reuse_port {
            socket.set_reuse_port(true)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(options.backlog)?;
        socket.set_nonblocking(true)?;
        Ok(Listener::Tcp(socket.into()))
    }

    /// Binds a Unix domain socket at `path` and listens on it. An existing file at `path` is
    /// an error (`AddrInUse`), as with uvicorn's `--uds`.
    pub fn bind_unix(path: impl AsRef<Path>) -> io::Result<Listener> {
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(Listener::Unix(listener))
    }

    /// Takes over an already-open listening socket (uvicorn's `--fd`, or one inherited from a
    /// supervisor), TCP or Unix, found from the socket's own address family. The socket must
    /// be a stream socket that is already listening.
    pub fn from_fd(fd: OwnedFd) -> io::Result<Listener> {
        let socket = Socket::from(fd);
        if socket.r#type()? != Type::STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the descriptor is not a stream socket",
            ));
        }
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        if local.is_unix() {
            Ok(Listener::Unix(UnixListener::from(OwnedFd::from(socket))))
        } else if local.as_socket().is_some() {
            Ok(Listener::Tcp(socket.into()))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the descriptor is neither a TCP nor a Unix socket",
            ))
        }
    }

    /// The TCP address this listener is bound to (`None` for a Unix socket).
    pub fn local_addr(&self) -> io::Result<Option<SocketAddr>> {
        match self {
            Listener::Tcp(l) => l.local_addr().map(Some),
            Listener::Unix(_) => Ok(None),
        }
    }
}
