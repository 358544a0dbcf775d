//! Tachyon's native HTTP/1.1 server: hyper on a single-threaded tokio runtime, driven from
//! the outside by a host event loop.
//!
//! Pure Rust (no Python here). HTTP/1.1 parsing and framing are hyper's; this crate owns the
//! listeners ([`Listener`]), the limits and deadlines ([`Config`]), the wiring to a
//! [`Dispatch`] implementation that answers each request, graceful shutdown
//! ([`ShutdownHandle`]), dispatcher layers for proxy headers ([`ProxyHeaders`]) and access
//! logging ([`AccessLog`]), TLS through rustls ([`Tls`]), WebSockets through tokio-tungstenite
//! ([`WebSocket`], [`WebSocketConfig`]), and the way the runtime is driven
//! ([`Runtime`]):
//!
//! - [`Runtime::turn`] runs every server of the runtime for one wait of a host event loop
//!   (the intended host is Python's asyncio loop, whose selector calls it instead of
//!   blocking in epoll), until a timeout, until the host's own descriptor is readable, or
//!   until a [`WakeHandle`] interrupts it;
//! - [`Runtime::run_until_stopped`] and [`serve`] run it for Rust programs and tests.
//!
//! Everything runs on the thread that created the [`Runtime`]: dispatchers and their
//! pending responses need not be `Send`.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//!
//! use http::{Request, Response};
//! use tachyon_server::{Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, TcpOptions};
//!
//! let runtime = Runtime::new()?;
//! let listener = Listener::bind_tcp("127.0.0.1:0".parse()?, TcpOptions::default())?;
//! let dispatch = |request: Request<RequestBody>, _peer: &Peer| {
//!     let body = format!("hello from {}", request.uri().path());
//!     Reply::Ready(Response::new(ResponseBody::from(body)))
//! };
//! let server = runtime.serve(listener, dispatch, Config::default())?;
//!
//! // A client on another thread; it shuts the server down once answered.
//! let addr = server.local_addr().expect("a TCP listener");
//! let shutdown = server.shutdown_handle();
//! let client = std::thread::spawn(move || -> std::io::Result<String> {
//!     let mut stream = TcpStream::connect(addr)?;
//!     stream.write_all(b"GET /docs HTTP/1.1\r\nhost: example\r\nconnection: close\r\n\r\n")?;
//!     let mut answer = String::new();
//!     stream.read_to_string(&mut answer)?;
//!     shutdown.shutdown();
//!     Ok(answer)
//! });
//!
//! runtime.run_until_stopped(&server);
//! let answer = client.join().expect("the client thread")?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nhello from /docs"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod access;
mod body;
mod config;
mod conn;
mod dispatch;
mod heads;
mod listener;
mod proxy;
mod runtime;
mod server;
mod tls;
mod ws;

pub use access::{AccessLog, AccessRecord, AccessSink};
pub use body::{BodyClosed, BodyError, BodySender, BoxError, RequestBody, ResponseBody};
pub use config::{Config, DEFAULT_MAX_HEADER_SIZE};
pub use dispatch::{Dispatch, Peer, PendingResponse, Reply, spawn};
pub use listener::{DEFAULT_BACKLOG, Listener, TcpOptions};
pub use proxy::{DEFAULT_FORWARDED_ALLOW_IPS, Forwarded, ProxyHeaders, TrustedHosts};
pub use runtime::{Runtime, WakeHandle, Wakeup, serve};
pub use server::{ServerHandle, ShutdownHandle};
pub use tls::Tls;
pub use ws::{WebSocket, WebSocketConfig, WsError, WsEvent, WsMessage};
