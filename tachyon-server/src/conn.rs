//! One connection: the deadline-keeping socket wrapper, and the hyper service that calls the
//! dispatcher.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::body::{BoxError, RequestBody, ResponseBody};
use crate::config::Config;
use crate::dispatch::{Dispatch, Peer, PendingResponse, Reply};
use crate::heads::HeadTracker;
use crate::ws;

/// What the connection is doing, which decides the read deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between requests: the keep-alive deadline applies.
    Idle,
    /// Reading a request head: the header deadline applies.
    Head,
    /// A request is being answered: no read deadline here (the body has its own).
    Busy,
    /// Upgraded to a WebSocket: no read deadline (its pings find a dead client).
    Upgraded,
}

/// Why a request's body failed, as seen by the service when the dispatcher answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    TooLarge,
    TimedOut,
    /// The client's body framing was malformed (a bad chunk size): `400`.
    Malformed,
}

/// State shared by a connection's socket wrapper, service and bodies (one thread).
pub(crate) struct ConnState {
    phase: Cell<Phase>,
    deadline: Cell<Instant>,
    /// The number of the request in flight (counted from 1), so that a body kept past its
    /// request cannot mark the next request's fault.
    request: Cell<u64>,
    fault: Cell<Fault>,
    header_timeout: std::time::Duration,
    keep_alive: std::time::Duration,
    /// The reader that found no deadline to keep while a request was in flight: woken when
    /// the request ends, so the keep-alive deadline starts to count.
    read_waker: Cell<Option<Waker>>,
    /// The number of the request whose head has both `Content-Length` and
    /// `Transfer-Encoding`, as the socket wrapper's head tracker found (0: none); the service
    /// answers it `400`.
    smuggled: Cell<u64>,
}

impl ConnState {
    fn new(config: &Config) -> Self {
        ConnState {
            phase: Cell::new(Phase::Head),
            deadline: Cell::new(Instant::now() + config.header_read_timeout),
            request: Cell::new(0),
            fault: Cell::new(Fault::None),
            header_timeout: config.header_read_timeout,
            keep_alive: config.keep_alive_timeout,
            read_waker: Cell::new(None),
            smuggled: Cell::new(0),
        }
    }

    /// Whether the request in flight has both `Content-Length` and `Transfer-Encoding`.
    fn smuggling(&self) -> bool {
        self.smuggled.get() == self.request.get()
    }

    /// Records why the body of request number `request` failed (ignored once that request
    /// is over).
    pub(crate) fn set_fault(&self, request: u64, fault: Fault) {
        if self.request.get() == request {
            self.fault.set(fault);
        }
    }

    /// Whether the body of request number `request`, still in flight, failed: the server
    /// answers it with the fault's own response.
    pub(crate) fn faulted(&self, request: u64) -> bool {
        self.request.get() == request && self.fault.get() != Fault::None
    }

    /// The number of the request in flight.
    pub(crate) fn request(&self) -> u64 {
        self.request.get()
    }

    fn begin_request(&self) {
        self.phase.set(Phase::Busy);
        self.request.set(self.request.get() + 1);
        self.fault.set(Fault::None);
    }

    fn end_request(&self) {
        self.phase.set(Phase::Idle);
        self.deadline.set(Instant::now() + self.keep_alive);
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
    }

    fn bytes_read(&self) {
        if self.phase.get() == Phase::Idle {
            self.phase.set(Phase::Head);
            self.deadline.set(Instant::now() + self.header_timeout);
        }
    }
}

/// The socket as hyper sees it: reads fail with `TimedOut` past the header or keep-alive
/// deadline, writes fail with `TimedOut` when they make no progress for the write timeout.
/// The bytes read (plaintext: under TLS this wraps the decrypted stream) go through a
/// [`HeadTracker`], which finds the requests with both `Content-Length` and
/// `Transfer-Encoding` for the service to refuse; nothing else looks at them.
pub(crate) struct Guarded<S> {
    io: S,
    state: Rc<ConnState>,
    heads: HeadTracker,
    read_timer: Pin<Box<Sleep>>,
    read_timer_at: Option<Instant>,
    write_timer: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Instant>,
    write_timeout: std::time::Duration,
    linger: std::time::Duration,
    /// Set once the write side is shut down: the reads that follow are the lingering close.
    lingering: Option<Pin<Box<Sleep>>>,
}

impl<S> Guarded<S> {
    fn new(io: S, state: Rc<ConnState>, config: &Config) -> Self {
        let deadline = state.deadline.get();
        Guarded {
            io,
            state,
            heads: HeadTracker::new(config.max_header_size, config.max_headers),
            read_timer: Box::pin(tokio::time::sleep_until(deadline)),
            read_timer_at: Some(deadline),
            write_timer: None,
            write_deadline: None,
            write_timeout: config.write_timeout,
            linger: config.linger_timeout,
            lingering: None,
        }
    }

    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if matches!(self.state.phase.get(), Phase::Busy | Phase::Upgraded)
            || self.write_deadline.is_some()
        {
            // No read deadline while a request is in flight, nor while a write is stalled (the
            // write timeout watches the connection then); the reader is woken when either
            // ends, so the deadline starts to count.
            let waker = match self.state.read_waker.take() {
                Some(w) if w.will_wake(cx.waker()) => w,
                _ => cx.waker().clone(),
            };
            self.state.read_waker.set(Some(waker));
            return Poll::Pending;
        }
        let deadline = self.state.deadline.get();
        if self.read_timer_at != Some(deadline) {
            self.read_timer.as_mut().reset(deadline);
            self.read_timer_at = Some(deadline);
        }
        match self.read_timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                if self.state.phase.get() == Phase::Idle {
                    "keep-alive connection idle past its timeout"
                } else {
                    "request head not received within the header timeout"
                },
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn write_progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(r) => {
                if self.write_deadline.take().is_some()
                    && let Some(waker) = self.state.read_waker.take()
                {
                    waker.wake();
                }
                Poll::Ready(r)
            }
            Poll::Pending => {
                if self.write_deadline.is_none() {
                    let deadline = Instant::now() + self.write_timeout;
                    self.write_deadline = Some(deadline);
                    match &mut self.write_timer {
                        Some(t) => t.as_mut().reset(deadline),
                        None => {
                            self.write_timer = Some(Box::pin(tokio::time::sleep_until(deadline)))
                        }
                    }
                }
                let timer = self.write_timer.as_mut().expect("set above");
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "response write made no progress within the write timeout",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.state.bytes_read();
                    if let Some(request) = this.heads.feed(&buf.filled()[before..]) {
                        this.state.smuggled.set(request);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_read_deadline(cx),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.write_progress(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.write_progress(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.write_progress(cx, r)
    }

    /// Shuts the write side down, then reads and discards what the client still sends until
    /// it closes its side or the linger timeout passes (a lingering close): closing a socket
    /// with unread data makes the kernel send a reset, which can destroy the response (a 413,
    /// say) before the client reads it.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.lingering.is_none() {
            let r = Pin::new(&mut this.io).poll_shutdown(cx);
            match this.write_progress(cx, r) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
            this.lingering = Some(Box::pin(tokio::time::sleep(this.linger)));
        }
        let mut scratch = [0u8; 4096];
        let mut drained = false;
        for _ in 0..16 {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut this.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => continue,
                Poll::Ready(_) => return Poll::Ready(Ok(())),
                Poll::Pending => {
                    drained = true;
                    break;
                }
            }
        }
        let timer = this.lingering.as_mut().expect("set above");
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ok(()));
        }
        if !drained {
            // The client keeps sending: come back after letting other tasks run.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// Marks the request finished when hyper is done with its response body.
struct InFlight(Rc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// The response body hyper writes: the dispatcher's body, plus the in-flight marker.
pub(crate) struct ServerBody {
    body: ResponseBody,
    _in_flight: InFlight,
}

// `poll_frame`'s signature is http_body's `Body` trait, written out by each body type
// (this crate's and the binding's); the bodies differ.
impl Body for ServerBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The hyper service of one connection.
pub(crate) struct Service<D> {
    dispatch: Rc<D>,
    state: Rc<ConnState>,
    peer: Peer,
    max_body: u64,
    body_timeout: std::time::Duration,
    /// WebSocket handshakes: the limits, and where an accepted one waits for the upgrade.
    websocket: ws::WebSocketConfig,
    upgrade: ws::UpgradeSlot,
}

/// A response the server makes itself: the status's reason phrase as plain text, and
/// `connection: close`.
pub(crate) fn error_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::full(Bytes::from_static(
        status.canonical_reason().unwrap_or("").as_bytes(),
    )));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The dispatcher's response, or the error response its request's body fault calls for.
fn finish(state: &Rc<ConnState>, response: Response<ResponseBody>) -> Response<ServerBody> {
    let response = match state.fault.get() {
        Fault::None => response,
        Fault::TooLarge => error_response(StatusCode::PAYLOAD_TOO_LARGE),
        Fault::TimedOut => error_response(StatusCode::REQUEST_TIMEOUT),
        Fault::Malformed => error_response(StatusCode::BAD_REQUEST),
    };
    response.map(|body| ServerBody {
        body,
        _in_flight: InFlight(state.clone()),
    })
}

impl<D: Dispatch> hyper::service::Service<Request<Incoming>> for Service<D> {
    type Response = Response<ServerBody>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, request: Request<Incoming>) -> ServiceFuture {
        self.state.begin_request();
        if self.state.smuggling() {
            // Both `Content-Length` and `Transfer-Encoding` (hyper has read it by the latter
            // and will close the connection): refused, as uvicorn does, without dispatch.
            return ServiceFuture::Ready(Some(finish(
                &self.state,
                error_response(StatusCode::BAD_REQUEST),
            )));
        }
        if self.dispatch.accepts_websockets() && ws::is_upgrade(&request) {
            return self.websocket(request);
        }
        let (parts, incoming) = request.into_parts();
        if incoming
            .size_hint()
            .exact()
            .is_some_and(|len| len > self.max_body)
        {
            return ServiceFuture::Ready(Some(finish(
                &self.state,
                error_response(StatusCode::PAYLOAD_TOO_LARGE),
            )));
        }
        let body = RequestBody::new(
            incoming,
            self.max_body,
            self.body_timeout,
            self.state.clone(),
        );
        match self
            .dispatch
            .dispatch(Request::from_parts(parts, body), &self.peer)
        {
            Reply::Ready(response) => ServiceFuture::Ready(Some(finish(&self.state, response))),
            Reply::Pending(future) => ServiceFuture::Pending(future, self.state.clone()),
        }
    }
}

impl<D: Dispatch> Service<D> {
    /// A WebSocket handshake, to the dispatcher's `dispatch_websocket` (see `ws`).
    fn websocket(&self, request: Request<Incoming>) -> ServiceFuture {
        let handshake = ws::handshake(
            request,
            &self.websocket,
            self.upgrade.clone(),
            |request, socket| {
                self.dispatch
                    .dispatch_websocket(request, &self.peer, socket)
            },
        );
        match handshake {
            Reply::Ready(response) => ServiceFuture::Ready(Some(finish(&self.state, response))),
            Reply::Pending(pending) => ServiceFuture::Pending(pending, self.state.clone()),
        }
    }
}

/// The future hyper polls for a response: ready at once, or the dispatcher's pending one.
pub(crate) enum ServiceFuture {
    Ready(Option<Response<ServerBody>>),
    Pending(PendingResponse, Rc<ConnState>),
}

impl Future for ServiceFuture {
    type Output = Result<Response<ServerBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            ServiceFuture::Ready(response) => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
            ServiceFuture::Pending(future, state) => {
                future.as_mut().poll(cx).map(|r| Ok(finish(state, r)))
            }
        }
    }
}

/// Everything a connection needs, shared by all connections of one server.
pub(crate) struct ConnShared<D> {
    pub(crate) dispatch: Rc<D>,
    pub(crate) config: Config,
    pub(crate) http1: hyper::server::conn::http1::Builder,
}

impl<D: Dispatch> ConnShared<D> {
    pub(crate) fn new(dispatch: D, config: Config) -> Self {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .keep_alive(true)
            .half_close(false)
            .header_read_timeout(None)
            .max_header_size(config.max_header_size)
            .max_headers(config.max_headers)
            .pipeline_flush(config.pipeline_flush);
        ConnShared {
            dispatch: Rc::new(dispatch),
            config,
            http1,
        }
    }

    /// Serves one accepted connection until it closes, or until `stop` resolves: then hyper
    /// finishes the request in flight (if any) and closes.
    pub(crate) async fn serve<S>(&self, io: S, peer: Peer, stop: impl Future<Output = ()>)
    where
        S: AsyncRead + AsyncWrite + Unpin + 'static,
    {
        let state = Rc::new(ConnState::new(&self.config));
        let io = hyper_util::rt::TokioIo::new(Guarded::new(io, state.clone(), &self.config));
        let upgrade = ws::UpgradeSlot::default();
        let service = Service {
            dispatch: self.dispatch.clone(),
            state: state.clone(),
            peer,
            max_body: self.config.max_body_size,
            body_timeout: self.config.body_read_timeout,
            websocket: self.config.websocket.clone(),
            upgrade: upgrade.clone(),
        };
        let mut conn = self.http1.serve_connection(io, service);
        tokio::pin!(stop);
        tokio::select! {
            _ = &mut conn => {}
            () = &mut stop => {
                Pin::new(&mut conn).graceful_shutdown();
                let _ = (&mut conn).await;
            }
        }
        // An accepted WebSocket handshake: hyper has written the 101 and stopped (without
        // shutting the socket down); the WebSocket runs on the socket until it is over or
        // shutdown (`stop`) closes it.
        let accepted = upgrade.borrow_mut().take();
        if let Some(accepted) = accepted {
            state.phase.set(Phase::Upgraded);
            let parts = conn.into_parts();
            // Boxed: the WebSocket's state is allocated only for a connection that upgrades,
            // not held inline in every connection's future.
            Box::pin(ws::run(
                accepted,
                parts.io.into_inner(),
                parts.read_buf,
                stop,
            ))
            .await;
        }
    }
}
