//! Limits and deadlines of one server, each with a default.

use std::time::Duration;

use crate::tls::Tls;
use crate::ws::WebSocketConfig;

/// The limits and deadlines a server applies to every connection.
///
/// Every field has a default (see [`Config::default`]); build one with struct update syntax:
///
/// ```
/// use std::time::Duration;
/// use tachyon_server::Config;
///
/// let config = Config {
///     header_read_timeout: Duration::from_secs(5),
///     max_body_size: 1 << 20,
///     ..Config::default()
/// };
/// assert_eq!(config.max_headers, 100);
/// ```
///
/// HTTP/1.1 parsing and framing are hyper's; these values are what the server adds around it.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a client has to send a whole request head (request line and headers), counted
    /// from the first byte of that request, or from the accept for a connection's first request.
    /// A client slower than this (slowloris) is disconnected without a response.
    pub header_read_timeout: Duration,
    /// How long reading the request body may stall: the longest wait for the next piece of the
    /// body while the dispatcher reads it. On expiry the body reports
    /// [`BodyError::TimedOut`](crate::BodyError::TimedOut) and the response becomes a
    /// `408 Request Timeout` with `connection: close`. A client that keeps sending, however
    /// slowly, is not cut off by this deadline.
    pub body_read_timeout: Duration,
    /// How long writing the response may make no progress (a client that never reads it). On
    /// expiry the connection is closed.
    pub write_timeout: Duration,
    /// How long a keep-alive connection may stay idle between requests before it is closed.
    pub keep_alive_timeout: Duration,
    /// The largest request head in bytes (request line and headers); larger heads are answered
    /// `431 Request Header Fields Too Large` and the connection is closed.
    pub max_header_size: usize,
    /// The most header lines a request may have; more are answered `431` and the connection is
    /// closed.
    pub max_headers: usize,
    /// The largest request body in bytes. A declared `Content-Length` above it is answered
    /// `413 Content Too Large` without calling the dispatcher; a chunked body that grows past
    /// it fails with [`BodyError::TooLarge`](crate::BodyError::TooLarge) while it streams, and
    /// the response becomes a `413`. Both close the connection. `u64::MAX` means no limit.
    pub max_body_size: u64,
    /// The most connections served at once. When it is reached the server stops accepting:
    /// further connections wait in the kernel's listen backlog (they are not refused) until a
    /// connection closes.
    pub max_connections: usize,
    /// Whether hyper aggregates the flushes of responses to pipelined requests (hyper's
    /// `pipeline_flush`, experimental in hyper): several responses go out in one write.
    /// Pipelined requests are always accepted and answered in order; this only changes how
    /// their responses are flushed. Off by default: with it on, hyper (1.12) does not flush
    /// the last response of a connection it closes while unread bytes remain in its buffer
    /// (a `400` for a malformed request, the response to a request with both
    /// `Content-Length` and `Transfer-Encoding`), so the client gets no answer at all.
    pub pipeline_flush: bool,
    /// How long closing a connection the server ends itself (after a `connection: close`
    /// response, a `413`, a `408`) keeps reading and discarding what the client still sends,
    /// so the kernel does not reset the connection before the client has read the response.
    pub linger_timeout: Duration,
    /// How long graceful shutdown waits for in-flight requests before closing the connections
    /// still open.
    pub shutdown_timeout: Duration,
    /// TLS on every connection (`None`: plain HTTP). The handshake must finish within
    /// `header_read_timeout`.
    pub tls: Option<Tls>,
    /// The limits of WebSocket connections (see [`WebSocketConfig`]). An upgraded connection
    /// has no read deadline of its own (its pings find a dead client); `write_timeout` still
    /// applies to its writes.
    pub websocket: WebSocketConfig,
}

/// The default bound on a request head (request line and headers), in bytes: 417,792, hyper's
/// own default read buffer, which is also Granian's HTTP/1 buffer and the bound Tachyon's
/// uvicorn protocol applies. A long query string (10,000 parameters is about 40 KB) passes, as
/// it does under those servers.
pub const DEFAULT_MAX_HEADER_SIZE: usize = 8192 + 4096 * 100;

impl Default for Config {
    /// The defaults: header read 10 s, body stall 30 s, write stall 30 s, keep-alive idle
    /// 5 s (uvicorn's), request head [`DEFAULT_MAX_HEADER_SIZE`] bytes, 100 headers, body 100 MiB,
    /// 16,384 connections, pipeline flush off, linger 1 s, shutdown 30 s, no TLS, and
    /// [`WebSocketConfig::default`].
    fn default() -> Self {
        Config {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(5),
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_headers: 100,
            max_body_size: 100 * 1024 * 1024,
            max_connections: 16_384,
            pipeline_flush: false,
            linger_timeout: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(30),
            tls: None,
            websocket: WebSocketConfig::default(),
        }
    }
}
