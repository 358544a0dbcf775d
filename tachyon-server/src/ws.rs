//! WebSockets: the handshake (hyper's upgrade), and the connection that follows it
//! (tokio-tungstenite's framing), between the client and a dispatcher's [`WebSocket`].
//!
//! A request is a WebSocket handshake when it asks to upgrade to `websocket`. If the
//! dispatcher serves WebSockets ([`Dispatch::accepts_websockets`](crate::Dispatch::accepts_websockets)),
//! it is handed a [`WebSocket`] and decides: [`WebSocket::accept`] (the server answers
//! `101 Switching Protocols` and runs the connection), [`WebSocket::reject`] (an HTTP
//! response instead), or nothing before it lets go of the handle ([`WebSocket::finish`] or a
//! drop): `500 Internal Server Error`, as uvicorn answers an app that returns without a
//! handshake.
//!
//! Once accepted, messages travel both ways through the handle; the limits are
//! [`WebSocketConfig`]'s. What the app is told when the connection ends, and what the client
//! is sent, follow uvicorn's default WebSocket protocol (websockets' sans-I/O one):
//!
//! - the client's close frame: its code (1005 if it had none) and reason;
//! - the app's close: the client receives that code and reason, and the server waits up to
//!   [`WebSocketConfig::close_timeout`] for the client's reply before it closes the socket;
//! - the client gone without a close frame (or unanswered pings): 1006;
//! - a message larger than [`WebSocketConfig::max_message_size`]: close 1009 to the client,
//!   1009 to the app; a text message that is not UTF-8: 1007; other protocol errors: 1002;
//! - graceful shutdown of the server: close 1012 to the client, 1012 to the app;
//! - the app done (finished or dropped) without closing: the socket is closed without a close
//!   frame once what the app sent is written (uvicorn closes its transport the same way).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::body::ResponseBody;
use crate::conn::error_response;
use crate::dispatch::Reply;

/// The limits and deadlines of WebSocket connections (the `websocket` field of
/// [`Config`](crate::Config)).
///
/// The defaults are uvicorn's: messages up to 16 MiB, a ping every 20 s answered within 20 s,
/// 32 received messages queued for the app, 10 s for the client to answer a close.
#[derive(Clone, Debug)]
pub struct WebSocketConfig {
    /// The largest message (and frame) a client may send, in bytes; a larger one closes the
    /// connection with 1009 (uvicorn's `ws_max_size`).
    pub max_message_size: usize,
    /// How often the server pings an accepted connection (`None`: never; uvicorn's
    /// `ws_ping_interval`).
    pub ping_interval: Option<Duration>,
    /// How long a ping may go unanswered before the connection is closed with 1011
    /// (`None`: no deadline; uvicorn's `ws_ping_timeout`).
    pub ping_timeout: Option<Duration>,
    /// How many received messages wait for the app before the server stops reading from the
    /// client (backpressure; uvicorn's `ws_max_queue`). At least 1.
    pub max_queue: usize,
    /// How long the server waits for the client's reply to a close frame the app sent
    /// before it closes the socket anyway.
    pub close_timeout: Duration,
    /// Bytes the app may queue for sending before [`WebSocket::writable`] makes it wait for
    /// the client to take some.
    pub write_high_water: usize,
}

impl Default for WebSocketConfig {
    /// 16 MiB messages, ping every 20 s with a 20 s deadline, 32 queued messages, close
    /// timeout 10 s, 64 KiB of unsent data before the app waits.
    fn default() -> Self {
        WebSocketConfig {
            max_message_size: 16 * 1024 * 1024,
            ping_interval: Some(Duration::from_secs(20)),
            ping_timeout: Some(Duration::from_secs(20)),
            max_queue: 32,
            close_timeout: Duration::from_secs(10),
            write_high_water: 64 * 1024,
        }
    }
}

/// A WebSocket message, either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
}

/// What [`WebSocket::recv`] gives: a message, or the end of the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsEvent {
    /// A message from the client.
    Message(WsMessage),
    /// The connection is over (or the app closed it): the close code and reason the app is
    /// told (see the [module documentation](self)). Every later call gives it again.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason (empty if none).
        reason: String,
    },
}

/// Why a [`WebSocket`] call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WsError {
    /// The handshake was already answered (accepted or rejected).
    AlreadyAnswered,
    /// The handshake has not been accepted yet.
    NotAccepted,
    /// The app already sent its close.
    CloseSent,
    /// The connection is over (the client left, or the handshake was rejected).
    Disconnected,
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WsError::AlreadyAnswered => "the WebSocket handshake was already answered",
            WsError::NotAccepted => "the WebSocket handshake has not been accepted",
            WsError::CloseSent => "the WebSocket close was already sent",
            WsError::Disconnected => "the WebSocket client disconnected",
        })
    }
}

impl std::error::Error for WsError {}

/// The app's answer to the handshake.
enum Answer {
    Waiting,
    Accept {
        subprotocol: Option<String>,
        headers: HeaderMap,
    },
    Reject(Response<ResponseBody>),
    /// Taken by the server.
    Given,
}

struct State {
    answer: Answer,
    accepted: bool,
    incoming: VecDeque<WsMessage>,
    /// What `recv` gives once `incoming` is empty.
    end: Option<(u16, String)>,
    outgoing: VecDeque<Message>,
    /// Bytes queued in `outgoing` or written but not yet flushed.
    unsent: usize,
    close_sent: bool,
    /// The app is done with the connection.
    finished: bool,
    /// The connection is over.
    gone: bool,
}

impl State {
    /// Whether the app may still send (a message or its close frame).
    fn can_send(&self) -> Result<(), WsError> {
        if !self.accepted {
            Err(WsError::NotAccepted)
        } else if self.gone {
            Err(WsError::Disconnected)
        } else if self.close_sent {
            Err(WsError::CloseSent)
        } else {
            Ok(())
        }
    }
}

/// One WebSocket, shared by the app's handle and the server.
struct Session {
    config: WebSocketConfig,
    subprotocols: Vec<String>,
    state: RefCell<State>,
    /// The app did something the server acts on.
    to_server: Notify,
    /// The server did something the app may wait for.
    to_app: Notify,
}

impl Session {
    fn set_end(&self, code: u16, reason: &str) {
        let mut state = self.state.borrow_mut();
        if state.end.is_none() {
            state.end = Some((code, reason.to_owned()));
        }
    }

    /// The connection is over; the app is told `code` unless it was told something already.
    fn gone(&self, code: u16, reason: &str) {
        self.set_end(code, reason);
        {
            let mut state = self.state.borrow_mut();
            state.gone = true;
            state.outgoing.clear();
            state.unsent = 0;
        }
        self.to_app.notify_waiters();
    }
}

/// Waits on `notify` until `check` gives a value (no wakeup is lost between the check and
/// the wait).
async fn wait_until<T>(notify: &Notify, mut check: impl FnMut() -> Option<T>) -> T {
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(value) = check() {
            return value;
        }
        notified.await;
    }
}

/// A WebSocket handshake the dispatcher answers, then the connection it accepted: the app's
/// side (see the [module documentation](self)). Not `Send`: it lives on the server's thread.
///
/// Dropping it (or calling [`WebSocket::finish`]) tells the server the app is done.
pub struct WebSocket {
    session: Rc<Session>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.session.state.borrow();
        f.debug_struct("WebSocket")
            .field("subprotocols", &self.session.subprotocols)
            .field("accepted", &state.accepted)
            .field("close_sent", &state.close_sent)
            .field("gone", &state.gone)
            .finish_non_exhaustive()
    }
}

impl Drop for WebSocket {
    fn drop(&mut self) {
        self.finish();
    }
}

impl WebSocket {
    fn new(config: WebSocketConfig, subprotocols: Vec<String>) -> WebSocket {
        WebSocket {
            session: Rc::new(Session {
                config,
                subprotocols,
                state: RefCell::new(State {
                    answer: Answer::Waiting,
                    accepted: false,
                    incoming: VecDeque::new(),
                    end: None,
                    outgoing: VecDeque::new(),
                    unsent: 0,
                    close_sent: false,
                    finished: false,
                    gone: false,
                }),
                to_server: Notify::new(),
                to_app: Notify::new(),
            }),
        }
    }

    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`, every header's
    /// comma-separated tokens, trimmed), in order.
    pub fn subprotocols(&self) -> &[String] {
        &self.session.subprotocols
    }

    fn answer(&self, answer: Answer) -> Result<(), WsError> {
        let mut state = self.session.state.borrow_mut();
        if state.gone {
            return Err(WsError::Disconnected);
        }
        if !matches!(state.answer, Answer::Waiting) {
            return Err(WsError::AlreadyAnswered);
        }
        state.accepted = matches!(answer, Answer::Accept { .. });
        state.answer = answer;
        drop(state);
        self.session.to_server.notify_waiters();
        Ok(())
    }

    /// Accepts the handshake: `101 Switching Protocols` with `subprotocol` (if any) as
    /// `Sec-WebSocket-Protocol`, and `headers` added to the response.
    pub fn accept(&self, subprotocol: Option<&str>, headers: HeaderMap) -> Result<(), WsError> {
        self.answer(Answer::Accept {
            subprotocol: subprotocol.map(str::to_owned),
            headers,
        })
    }

    /// Rejects the handshake with an HTTP `response` (sent with `connection: close`); the app
    /// is then told 1006. A close before accepting is `reject` with an empty `403` (as uvicorn).
    pub fn reject(&self, response: Response<ResponseBody>) -> Result<(), WsError> {
        self.answer(Answer::Reject(response))?;
        self.session.gone(1006, "");
        Ok(())
    }

    /// Whether the handshake was accepted.
    pub fn is_accepted(&self) -> bool {
        self.session.state.borrow().accepted
    }

    /// Queues `message` for the client (see [`WebSocket::writable`] for backpressure).
    pub fn send(&self, message: WsMessage) -> Result<(), WsError> {
        let mut state = self.session.state.borrow_mut();
        state.can_send()?;
        let message = match message {
            WsMessage::Text(text) => {
                state.unsent += text.len();
                Message::text(text)
            }
            WsMessage::Binary(bytes) => {
                state.unsent += bytes.len();
                Message::binary(bytes)
            }
        };
        state.outgoing.push_back(message);
        drop(state);
        self.session.to_server.notify_waiters();
        Ok(())
    }

    /// Sends a close frame with `code` and `reason` (after what was queued before it); the app
    /// is told the same code and reason from then on (as uvicorn does). A reason longer than
    /// a close frame holds (123 bytes) is cut at a character boundary.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), WsError> {
        {
            let mut state = self.session.state.borrow_mut();
            state.can_send()?;
            state.close_sent = true;
            let mut end = reason.len().min(123);
            while !reason.is_char_boundary(end) {
                end -= 1;
            }
            state.outgoing.push_back(Message::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason[..end].into(),
            })));
        }
        self.session.set_end(code, reason);
        self.session.to_server.notify_waiters();
        self.session.to_app.notify_waiters();
        Ok(())
    }

    /// The next message, or the end of the connection, without waiting (`None`: nothing
    /// yet).
    pub fn try_recv(&self) -> Option<WsEvent> {
        let mut state = self.session.state.borrow_mut();
        if let Some(message) = state.incoming.pop_front() {
            drop(state);
            // The server may have stopped reading for a full queue.
            self.session.to_server.notify_waiters();
            return Some(WsEvent::Message(message));
        }
        state.end.as_ref().map(|(code, reason)| WsEvent::Closed {
            code: *code,
            reason: reason.clone(),
        })
    }

    /// The next message, or the end of the connection.
    pub async fn recv(&self) -> WsEvent {
        wait_until(&self.session.to_app, || self.try_recv()).await
    }

    /// Whether what the app queued is beyond [`WebSocketConfig::write_high_water`] (then
    /// await [`WebSocket::writable`] before sending more).
    pub fn is_backed_up(&self) -> bool {
        let state = self.session.state.borrow();
        !state.gone && state.unsent > self.session.config.write_high_water
    }

    /// Resolves once the data queued for the client is below the high-water mark, or the
    /// connection is over.
    pub async fn writable(&self) {
        wait_until(&self.session.to_app, || {
            (!self.is_backed_up()).then_some(())
        })
        .await
    }

    /// Whether the connection is over (the client left, the handshake was rejected, or the
    /// close handshake finished).
    pub fn is_disconnected(&self) -> bool {
        self.session.state.borrow().gone
    }

    /// Tells the server the app is done: a handshake not answered yet is answered `500`; an
    /// open connection the app did not close is closed without a close frame once what was
    /// queued is written. Idempotent; dropping the handle does the same.
    pub fn finish(&self) {
        let mut state = self.session.state.borrow_mut();
        if state.finished {
            return;
        }
        state.finished = true;
        drop(state);
        self.session.to_server.notify_waiters();
    }
}

/// Whether `request` asks to upgrade to a WebSocket (`Upgrade: websocket`).
pub(crate) fn is_upgrade<B>(request: &Request<B>) -> bool {
    has_token(request.headers(), header::UPGRADE, "websocket")
}

fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// What the server keeps of an accepted handshake, to run the connection once hyper has
/// written the `101` and handed the socket over.
pub(crate) struct Upgrade {
    session: Rc<Session>,
}

/// Where a connection's accepted handshake waits for the upgrade.
pub(crate) type UpgradeSlot = Rc<RefCell<Option<Upgrade>>>;

/// Marks the session gone if the handshake future is dropped before it answered (the
/// client left while the app decided).
struct Unanswered(Option<Rc<Session>>);

impl Drop for Unanswered {
    fn drop(&mut self) {
        if let Some(session) = self.0.take() {
            session.gone(1006, "");
        }
    }
}

/// Starts a WebSocket handshake: validates it, hands `dispatcher` a [`WebSocket`] (through
/// `hand_over`), and gives the response future (the `101`, the app's rejection, a `500`, or
/// a `400` / `426` for a malformed handshake, which never reaches the app).
pub(crate) fn handshake(
    request: Request<hyper::body::Incoming>,
    config: &WebSocketConfig,
    slot: UpgradeSlot,
    hand_over: impl FnOnce(Request<()>, WebSocket),
) -> Reply {
    let headers = request.headers();
    if request.method() != Method::GET
        || request.version() != Version::HTTP_11
        || !has_token(headers, header::CONNECTION, "upgrade")
    {
        return Reply::Ready(error_response(StatusCode::BAD_REQUEST));
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        let mut response = error_response(StatusCode::UPGRADE_REQUIRED);
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Reply::Ready(response);
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return Reply::Ready(error_response(StatusCode::BAD_REQUEST));
    };
    let subprotocols = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|token| token.trim().to_owned())
        .collect();
    let (parts, _body) = request.into_parts();
    let socket = WebSocket::new(config.clone(), subprotocols);
    let session = socket.session.clone();
    hand_over(Request::from_parts(parts, ()), socket);
    Reply::pending(async move {
        let mut guard = Unanswered(Some(session.clone()));
        let answer = wait_until(&session.to_server, || {
            let mut state = session.state.borrow_mut();
            match std::mem::replace(&mut state.answer, Answer::Given) {
                Answer::Waiting if state.finished => Some(None),
                Answer::Waiting => {
                    state.answer = Answer::Waiting;
                    None
                }
                answer => Some(Some(answer)),
            }
        })
        .await;
        guard.0 = None;
        match answer {
            Some(Answer::Accept {
                subprotocol,
                headers,
            }) => {
                let mut response = Response::new(ResponseBody::empty());
                *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                let out = response.headers_mut();
                out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
                let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
                out.insert(
                    header::SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
                );
                if let Some(protocol) = subprotocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
                    out.insert(header::SEC_WEBSOCKET_PROTOCOL, protocol);
                }
                for (name, value) in &headers {
                    out.append(name, value.clone());
                }
                *slot.borrow_mut() = Some(Upgrade { session });
                response
            }
            Some(Answer::Reject(mut response)) => {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
            _ => {
                session.gone(1006, "");
                error_response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    })
}

/// How a connection's run ended for the app when the socket fails: a protocol error's close
/// code and reason.
fn failure(error: &tungstenite::Error) -> (u16, &'static str) {
    match error {
        tungstenite::Error::Capacity(_) => (1009, "message too big"),
        tungstenite::Error::Utf8(_) => (1007, "invalid UTF-8"),
        // The client closed the socket without a close frame: abnormal closure.
        tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        ) => (1006, ""),
        tungstenite::Error::Protocol(_) => (1002, "protocol error"),
        _ => (1006, ""),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Runs an accepted WebSocket once hyper has written the `101` and handed the connection
/// back (`io`, and `read` the bytes it had read past the request head), until it is over or
/// `stop` (graceful shutdown) resolves: then the client gets close 1012.
pub(crate) async fn run<S>(upgrade: Upgrade, io: S, read: Bytes, stop: impl Future<Output = ()>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let session = &*upgrade.session;
    let limits = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(session.config.max_message_size))
        .max_frame_size(Some(session.config.max_message_size));
    let mut ws =
        WebSocketStream::from_partially_read(io, read.to_vec(), Role::Server, Some(limits)).await;
    drive(session, &mut ws, stop).await;
    // The server closes the TCP connection first (RFC 6455), with a lingering close: what the
    // client still sends (the rest of an oversized message) is read and discarded for a
    // while, so the kernel does not reset the connection before the client reads the close.
    let _ = ws.get_mut().shutdown().await;
}

async fn drive<S>(session: &Session, ws: &mut WebSocketStream<S>, stop: impl Future<Output = ()>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let config = &session.config;
    tokio::pin!(stop);
    let mut ping_at = config.ping_interval.map(|every| Instant::now() + every);
    let mut ping_payload: Option<Bytes> = None;
    let mut pong_deadline: Option<Instant> = None;
    let mut close_deadline: Option<Instant> = None;
    let mut pings: u32 = 0;
    loop {
        let notified = session.to_server.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (batch, finished, close_sent) = {
            let mut state = session.state.borrow_mut();
            let batch: Vec<Message> = state.outgoing.drain(..).collect();
            (batch, state.finished, state.close_sent)
        };
        if !batch.is_empty() {
            let bytes: usize = batch.iter().map(Message::len).sum();
            for message in batch {
                if ws.feed(message).await.is_err() {
                    return session.gone(1006, "");
                }
            }
            if ws.flush().await.is_err() {
                return session.gone(1006, "");
            }
            let mut state = session.state.borrow_mut();
            state.unsent = state.unsent.saturating_sub(bytes);
            drop(state);
            session.to_app.notify_waiters();
        }
        if close_sent && close_deadline.is_none() {
            close_deadline = Some(Instant::now() + config.close_timeout);
            pong_deadline = None;
            ping_at = None;
        }
        if finished && !close_sent {
            // As uvicorn: an app done without a close leaves; the socket closes as it is.
            return session.gone(1006, "");
        }
        let can_read = {
            let state = session.state.borrow();
            state.incoming.len() < config.max_queue.max(1)
        };
        tokio::select! {
            biased;
            () = &mut stop => {
                session.gone(1012, "");
                let _ = ws.send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Restart,
                    reason: "".into(),
                }))).await;
                return;
            }
            () = &mut notified => {}
            item = ws.next(), if can_read => match item {
                Some(Ok(Message::Text(text))) => {
                    let mut state = session.state.borrow_mut();
                    if !state.close_sent {
                        state.incoming.push_back(WsMessage::Text(text.as_str().to_owned()));
                        drop(state);
                        session.to_app.notify_waiters();
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let mut state = session.state.borrow_mut();
                    if !state.close_sent {
                        state.incoming.push_back(WsMessage::Binary(bytes));
                        drop(state);
                        session.to_app.notify_waiters();
                    }
                }
                Some(Ok(Message::Pong(payload))) => {
                    if ping_payload.as_ref() == Some(&payload) {
                        ping_payload = None;
                        pong_deadline = None;
                        ping_at = config.ping_interval.map(|every| Instant::now() + every);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    // tungstenite has queued the reply (our close was already sent, or it
                    // echoes the client's); write it, then the connection is over.
                    let (code, reason) = match &frame {
                        Some(frame) => (u16::from(frame.code), frame.reason.as_str().to_owned()),
                        None => (1005, String::new()),
                    };
                    let _ = ws.flush().await;
                    return session.gone(code, &reason);
                }
                Some(Ok(_)) => {
                    // A ping: tungstenite queued the pong; write it.
                    if ws.flush().await.is_err() {
                        return session.gone(1006, "");
                    }
                }
                Some(Err(error)) => {
                    let (code, reason) = failure(&error);
                    if code != 1006 {
                        let _ = ws.send(Message::Close(Some(CloseFrame {
                            code: CloseCode::from(code),
                            reason: reason.into(),
                        }))).await;
                    }
                    return session.gone(code, reason);
                }
                None => return session.gone(1006, ""),
            },
            () = sleep_until(ping_at), if pong_deadline.is_none() => {
                pings = pings.wrapping_add(1);
                let payload = Bytes::copy_from_slice(&pings.to_be_bytes());
                if ws.send(Message::Ping(payload.clone())).await.is_err() {
                    return session.gone(1006, "");
                }
                ping_payload = Some(payload);
                match config.ping_timeout {
                    Some(timeout) => {
                        pong_deadline = Some(Instant::now() + timeout);
                        ping_at = None;
                    }
                    None => ping_at = config.ping_interval.map(|every| Instant::now() + every),
                }
            }
            () = sleep_until(pong_deadline) => {
                let _ = ws.send(Message::Close(Some(CloseFrame {
                    code: CloseCode::Error,
                    reason: "keepalive ping timeout".into(),
                }))).await;
                return session.gone(1006, "");
            }
            () = sleep_until(close_deadline) => return session.gone(1006, ""),
        }
    }
}
