//! What the server calls for each request.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use http::{Request, Response};

use crate::body::{RequestBody, ResponseBody};
use crate::ws::WebSocket;

/// A response future that need not be `Send`: the server runs on one thread.
pub type PendingResponse = Pin<Box<dyn Future<Output = Response<ResponseBody>>>>;

/// A dispatcher's answer: a response ready now, or one that completes later.
///
/// A ready reply costs no allocation and no task: the server writes it at once. A pending one
/// is polled by the connection's own task until it completes; while it is pending the
/// connection reads no further request (HTTP/1.1 answers in order).
pub enum Reply {
    /// The response is ready.
    Ready(Response<ResponseBody>),
    /// The response completes later.
    Pending(PendingResponse),
}

impl Reply {
    /// A pending reply from any future (boxes it).
    pub fn pending(future: impl Future<Output = Response<ResponseBody>> + 'static) -> Reply {
        Reply::Pending(Box::pin(future))
    }
}

impl From<Response<ResponseBody>> for Reply {
    fn from(response: Response<ResponseBody>) -> Reply {
        Reply::Ready(response)
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ready(r) => f.debug_tuple("Reply::Ready").field(r).finish(),
            Reply::Pending(_) => f.write_str("Reply::Pending(..)"),
        }
    }
}

/// The two ends of the connection a request came on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    /// The client's address (`None` on a Unix socket).
    pub remote: Option<SocketAddr>,
    /// The server's own address (`None` on a Unix socket).
    pub local: Option<SocketAddr>,
}

/// What the server calls once per request, on the server's single thread.
///
/// Neither the dispatcher nor its pending futures need be `Send`. The request body is a
/// stream ([`RequestBody`]); the limits of the server's [`Config`](crate::Config) apply while
/// it is read. A closure `Fn(Request<RequestBody>, &Peer) -> Reply` is a dispatcher.
pub trait Dispatch: 'static {
    /// Answers one request.
    fn dispatch(&self, request: Request<RequestBody>, peer: &Peer) -> Reply;

    /// Whether this dispatcher answers WebSocket handshakes with
    /// [`dispatch_websocket`](Dispatch::dispatch_websocket). The default, `false`, sends a
    /// handshake request to [`dispatch`](Dispatch::dispatch) like any other.
    fn accepts_websockets(&self) -> bool {
        false
    }

    /// Takes a WebSocket handshake request (its head; it has no body) when
    /// [`accepts_websockets`](Dispatch::accepts_websockets) is `true`: `socket` accepts or
    /// rejects it, then carries the messages (see [`WebSocket`]). The default lets go of the
    /// socket at once, which answers `500`.
    fn dispatch_websocket(&self, request: Request<()>, peer: &Peer, socket: WebSocket) {
        let _ = (request, peer);
        socket.finish();
    }
}

impl<F> Dispatch for F
where
    F: Fn(Request<RequestBody>, &Peer) -> Reply + 'static,
{
    fn dispatch(&self, request: Request<RequestBody>, peer: &Peer) -> Reply {
        self(request, peer)
    }
}

/// Runs `future` on the server's thread, beside the connections, until it completes (a
/// dispatcher's helper, such as the reader of a request body it streams to somewhere else).
///
/// # Panics
///
/// When called outside the server's runtime: call it from a dispatcher, or from a future the
/// server polls.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    drop(tokio::task::spawn_local(future));
}
