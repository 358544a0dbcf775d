//! Request and response bodies.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::conn::{ConnState, Fault};

/// A boxed error, as streaming response bodies report them.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// Why reading a request body failed.
#[derive(Debug)]
pub enum BodyError {
    /// The body grew past [`Config::max_body_size`](crate::Config::max_body_size). The server
    /// answers `413` whatever the dispatcher returns.
    TooLarge,
    /// No part of the body arrived for [`Config::body_read_timeout`](crate::Config::body_read_timeout).
    /// The server answers `408` whatever the dispatcher returns.
    TimedOut,
    /// The connection failed or the client sent a malformed body (hyper's error). For a
    /// malformed body (a bad chunk size or chunk framing) the server answers `400` whatever
    /// the dispatcher returns; a connection that broke gets no answer.
    Hyper(hyper::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::TooLarge => f.write_str("request body larger than the configured maximum"),
            BodyError::TimedOut => f.write_str("request body stalled past the configured timeout"),
            BodyError::Hyper(e) => write!(f, "request body: {e}"),
        }
    }
}

impl StdError for BodyError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            BodyError::Hyper(e) => Some(e),
            _ => None,
        }
    }
}

/// The body of a request, streamed from the connection as the dispatcher reads it.
///
/// It implements [`http_body::Body`], so it can be read frame by frame (for example with
/// [`http_body_util::BodyExt::frame`]); [`RequestBody::collect_bytes`] reads it whole. The
/// size limit and the stall deadline of the server's [`Config`](crate::Config) are enforced
/// while it streams: nothing is buffered beyond what the reader asks for.
pub struct RequestBody {
    incoming: Option<Incoming>,
    received: u64,
    limit: u64,
    stall: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    timer_armed: bool,
    /// The connection, and the number of this body's request on it.
    conn: Option<(Rc<ConnState>, u64)>,
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("received", &self.received)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl RequestBody {
    pub(crate) fn new(
        incoming: Incoming,
        limit: u64,
        stall: Duration,
        conn: Rc<ConnState>,
    ) -> Self {
        let incoming = if incoming.is_end_stream() {
            None
        } else {
            Some(incoming)
        };
        RequestBody {
            incoming,
            received: 0,
            limit,
            stall,
            timer: None,
            timer_armed: false,
            conn: Some((conn.clone(), conn.request())),
        }
    }

    /// Whether the server will answer this body's request itself (`400`, `408`, `413`)
    /// because reading the body failed, whatever the dispatcher returns.
    pub(crate) fn watch_fault(&self) -> impl Fn() -> bool + 'static {
        let conn = self.conn.clone();
        move || {
            conn.as_ref()
                .is_some_and(|(conn, request)| conn.faulted(*request))
        }
    }

    /// An empty body (for building requests outside the server, as in tests).
    pub fn empty() -> Self {
        RequestBody {
            incoming: None,
            received: 0,
            limit: u64::MAX,
            stall: Duration::MAX,
            timer: None,
            timer_armed: false,
            conn: None,
        }
    }

    /// The length the client declared with `Content-Length`, if it did.
    pub fn content_length(&self) -> Option<u64> {
        match &self.incoming {
            None => Some(0),
            Some(incoming) => incoming.size_hint().exact(),
        }
    }

    /// Reads the whole body into one buffer, up to the configured maximum (beyond it:
    /// [`BodyError::TooLarge`]).
    pub async fn collect_bytes(self) -> Result<Bytes, BodyError> {
        if self.incoming.is_none() {
            return Ok(Bytes::new());
        }
        Ok(BodyExt::collect(self).await?.to_bytes())
    }

    fn fail(
        &mut self,
        fault: Fault,
        error: BodyError,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.incoming = None;
        self.timer = None;
        if let Some((conn, request)) = &self.conn {
            conn.set_fault(*request, fault);
        }
        Poll::Ready(Some(Err(error)))
    }
}

/// Whether hyper's body error is the client's malformed framing (hyper's decoder reports it as
/// an `InvalidInput` or `InvalidData` I/O error), rather than a connection that ended or broke.
fn malformed(error: &hyper::Error) -> bool {
    StdError::source(error)
        .and_then(|source| source.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
            )
        })
}

// `poll_frame`'s signature is http_body's `Body` trait, written out by each body type
// (this crate's and the binding's); the bodies differ.
impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let Some(incoming) = this.incoming.as_mut() else {
            return Poll::Ready(None);
        };
        match Pin::new(incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer_armed = false;
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    if this.received > this.limit {
                        return this.fail(Fault::TooLarge, BodyError::TooLarge);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if malformed(&e) => {
                this.fail(Fault::Malformed, BodyError::Hyper(e))
            }
            Poll::Ready(Some(Err(e))) => {
                this.incoming = None;
                Poll::Ready(Some(Err(BodyError::Hyper(e))))
            }
            Poll::Ready(None) => {
                this.incoming = None;
                this.timer = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let deadline = Instant::now() + this.stall;
                if !this.timer_armed {
                    this.timer_armed = true;
                    match &mut this.timer {
                        Some(timer) => timer.as_mut().reset(deadline),
                        None => this.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
                    }
                }
                let timer = this.timer.as_mut().expect("armed above");
                ready!(timer.as_mut().poll(cx));
                this.fail(Fault::TimedOut, BodyError::TimedOut)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.incoming {
            None => true,
            Some(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.incoming {
            None => SizeHint::with_exact(0),
            Some(incoming) => incoming.size_hint(),
        }
    }
}

/// The body of a response: whole bytes, a stream fed through a [`BodySender`], or any
/// [`http_body::Body`] of [`Bytes`].
///
/// A whole body is sent with a `Content-Length`; a streamed one with
/// `Transfer-Encoding: chunked` (hyper's framing). Responses to `HEAD` requests are sent
/// without their body.
pub struct ResponseBody {
    inner: Inner,
}

enum Inner {
    Full(Option<Bytes>),
    Channel(mpsc::Receiver<Result<Bytes, BoxError>>),
    Boxed(Pin<Box<dyn Body<Data = Bytes, Error = BoxError>>>),
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Full(b) => return f.debug_tuple("ResponseBody::Full").field(b).finish(),
            Inner::Channel(_) => "Channel",
            Inner::Boxed(_) => "Boxed",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

impl ResponseBody {
    /// An empty body.
    pub fn empty() -> Self {
        ResponseBody {
            inner: Inner::Full(None),
        }
    }

    /// A body of these bytes, sent with a `Content-Length`.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ResponseBody {
            inner: Inner::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// A body streamed from any [`http_body::Body`] (it need not be `Send`).
    pub fn from_body<B>(body: B) -> Self
    where
        B: Body<Data = Bytes> + 'static,
        B::Error: Into<BoxError>,
    {
        ResponseBody {
            inner: Inner::Boxed(Box::pin(body.map_err(Into::into))),
        }
    }

    /// A streamed body and the sender that feeds it, with room for `capacity` chunks in
    /// between. The body ends when the sender is dropped; [`BodySender::abort`] cuts it off
    /// (the client sees an incomplete response). The sender is `Send`: it may feed the body
    /// from another thread.
    pub fn channel(capacity: usize) -> (BodySender, ResponseBody) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            BodySender { tx },
            ResponseBody {
                inner: Inner::Channel(rx),
            },
        )
    }
}

impl From<Bytes> for ResponseBody {
    fn from(bytes: Bytes) -> Self {
        ResponseBody::full(bytes)
    }
}

impl From<&'static str> for ResponseBody {
    fn from(s: &'static str) -> Self {
        ResponseBody::full(Bytes::from_static(s.as_bytes()))
    }
}

impl From<&'static [u8]> for ResponseBody {
    fn from(s: &'static [u8]) -> Self {
        ResponseBody::full(Bytes::from_static(s))
    }
}

impl From<String> for ResponseBody {
    fn from(s: String) -> Self {
        ResponseBody::full(s)
    }
}

impl From<Vec<u8>> for ResponseBody {
    fn from(v: Vec<u8>) -> Self {
        ResponseBody::full(v)
    }
}

// http_body's `Body` trait again (see `RequestBody`'s impl above).
impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().inner {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Channel(rx) => match ready!(rx.poll_recv(cx)) {
                Some(Ok(b)) => Poll::Ready(Some(Ok(Frame::data(b)))),
                Some(Err(e)) => Poll::Ready(Some(Err(e))),
                None => Poll::Ready(None),
            },
            Inner::Boxed(body) => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Channel(_) => false,
            Inner::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Inner::Channel(_) => SizeHint::default(),
            Inner::Boxed(body) => body.size_hint(),
        }
    }
}

/// Feeds a [`ResponseBody::channel`] body.
#[derive(Debug, Clone)]
pub struct BodySender {
    tx: mpsc::Sender<Result<Bytes, BoxError>>,
}

/// The response this sender fed is gone: the client disconnected or the connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyClosed;

impl fmt::Display for BodyClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the response body is no longer being sent")
    }
}

impl StdError for BodyClosed {}

impl BodySender {
    /// Sends one chunk, waiting while the channel is full (backpressure from the client).
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), BodyClosed> {
        self.tx.send(Ok(chunk.into())).await.map_err(|_| BodyClosed)
    }

    /// Sends one chunk if there is room now; `Ok(false)` if the channel is full.
    pub fn try_send(&self, chunk: impl Into<Bytes>) -> Result<bool, BodyClosed> {
        match self.tx.try_send(Ok(chunk.into())) {
            Ok(()) => Ok(true),
            Err(mpsc::error::TrySendError::Full(_)) => Ok(false),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(BodyClosed),
        }
    }

    /// Whether the response is gone (the client disconnected or the connection failed).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Waits until the response is gone (the client disconnected or the connection failed).
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// Cuts the response off with an error: the connection is closed without finishing the
    /// body, so the client sees an incomplete response rather than a complete one.
    pub async fn abort(self, error: impl Into<BoxError>) {
        let _ = self.tx.send(Err(error.into())).await;
    }
}
