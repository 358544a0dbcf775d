//! WebSockets over real sockets: a fake dispatcher that serves WebSockets, on a server thread,
//! and tokio-tungstenite's client on the test's own runtime.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use tachyon_server::{
    Config, Dispatch, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, ShutdownHandle,
    TcpOptions, WebSocket, WebSocketConfig, WsEvent, WsMessage,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Log = Arc<Mutex<Vec<String>>>;

/// The fake app. Plain HTTP requests are answered `http <path>`. WebSockets, by path:
/// - `/echo`: accepts with the first subprotocol offered and an `x-extra: yes` header, then
///   echoes every message; a text `close:<code>:<reason>` makes it close with that code and
///   reason; it logs `closed <code> <reason>` when `recv` reports the end;
/// - `/reject`: rejects with an empty `403`;
/// - `/forget`: lets go of the socket without answering (the server answers `500`);
/// - `/leave`: accepts, sends `bye`, and is done without closing.
struct App {
    log: Log,
}

async fn serve_socket(path: String, socket: WebSocket, log: Log) {
    match path.as_str() {
        "/reject" => {
            let mut response = Response::new(ResponseBody::empty());
            *response.status_mut() = StatusCode::FORBIDDEN;
            socket.reject(response).unwrap();
            return;
        }
        "/forget" => return,
        "/leave" => {
            socket.accept(None, HeaderMap::new()).unwrap();
            socket.send(WsMessage::Text("bye".into())).unwrap();
            return;
        }
        _ => {}
    }
    let protocol = socket.subprotocols().first().cloned();
    let mut headers = HeaderMap::new();
    headers.insert("x-extra", HeaderValue::from_static("yes"));
    socket.accept(protocol.as_deref(), headers).unwrap();
    loop {
        match socket.recv().await {
            WsEvent::Message(WsMessage::Text(text)) => {
                if let Some(rest) = text.strip_prefix("close:") {
                    let (code, reason) = rest.split_once(':').unwrap();
                    socket.close(code.parse().unwrap(), reason).unwrap();
                } else if socket.send(WsMessage::Text(text)).is_err() {
                    break;
                }
            }
            WsEvent::Message(message) => {
                if socket.send(message).is_err() {
                    break;
                }
            }
            WsEvent::Closed { code, reason } => {
                log.lock().unwrap().push(format!("closed {code} {reason}"));
                break;
            }
        }
    }
}

impl Dispatch for App {
    fn dispatch(&self, request: Request<RequestBody>, _peer: &Peer) -> Reply {
        Reply::Ready(Response::new(ResponseBody::from(format!(
            "http {}",
            request.uri().path()
        ))))
    }

    fn accepts_websockets(&self) -> bool {
        true
    }

    fn dispatch_websocket(&self, request: Request<()>, _peer: &Peer, socket: WebSocket) {
        let log = self.log.clone();
        let path = request.uri().path().to_owned();
        tachyon_server::spawn(serve_socket(path, socket, log));
    }
}

struct Server {
    addr: SocketAddr,
    log: Log,
    shutdown: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(config: Config) -> Server {
        let log = Log::default();
        let app_log = log.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = Runtime::new().unwrap();
            let listener =
                Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
            let server = runtime
                .serve(listener, App { log: app_log }, config)
                .unwrap();
            tx.send((server.local_addr().unwrap(), server.shutdown_handle()))
                .unwrap();
            runtime.run_until_stopped(&server);
        });
        let (addr, shutdown) = rx.recv().unwrap();
        Server {
            addr,
            log,
            shutdown,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Waits (a generous bound) until the app logged `line`.
    async fn logged(&self, line: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l == line) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &Server, path: &str) -> (Client, Response<Option<Vec<u8>>>) {
    tokio_tungstenite::connect_async(server.url(path))
        .await
        .unwrap()
}

/// The next message that is not a ping or pong (`None`: the stream ended or failed).
async fn next(client: &mut Client) -> Option<Result<Message, tungstenite::Error>> {
    let deadline = Duration::from_secs(5);
    loop {
        match tokio::time::timeout(deadline, client.next()).await.ok()? {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => return other,
        }
    }
}

fn close_of(message: Option<Result<Message, tungstenite::Error>>) -> (u16, String) {
    match message {
        Some(Ok(Message::Close(Some(frame)))) => (frame.code.into(), frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn echoes_text_and_binary_with_the_subprotocol_and_headers_accepted() {
    let server = Server::start(Config::default());
    let mut request = server.url("/echo").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("chat, superchat"),
    );
    let (mut client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(response.headers()["x-extra"], "yes");

    client.send(Message::text("héllo ☕")).await.unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::text("héllo ☕")
    );
    client
        .send(Message::binary(vec![0u8, 1, 255]))
        .await
        .unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::binary(vec![0u8, 1, 255])
    );
    let big = vec![7u8; 1 << 20];
    client.send(Message::binary(big.clone())).await.unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::binary(big)
    );
}

#[tokio::test]
async fn the_apps_close_code_and_reason_reach_the_client() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/echo").await;
    client
        .send(Message::text("close:4001:done ☕"))
        .await
        .unwrap();
    assert_eq!(close_of(next(&mut client).await), (4001, "done ☕".into()));
    // The app is told its own close.
    assert!(server.logged("closed 4001 done ☕").await);
}

#[tokio::test]
async fn the_clients_close_code_and_reason_reach_the_app() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/echo").await;
    client
        .close(Some(CloseFrame {
            code: CloseCode::from(4002),
            reason: "client leaving".into(),
        }))
        .await
        .unwrap();
    // The server answers the close with the same code.
    assert_eq!(
        close_of(next(&mut client).await),
        (4002, "client leaving".into())
    );
    assert!(server.logged("closed 4002 client leaving").await);
}

#[tokio::test]
async fn a_close_without_a_code_is_1005() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/echo").await;
    client.close(None).await.unwrap();
    assert!(server.logged("closed 1005 ").await);
}

#[tokio::test]
async fn a_client_that_vanishes_is_1006_to_the_app() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/echo").await;
    client.send(Message::text("ping")).await.unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::text("ping")
    );
    drop(client);
    assert!(server.logged("closed 1006 ").await);
}

#[tokio::test]
async fn a_rejection_before_accept_is_an_http_response() {
    let server = Server::start(Config::default());
    match tokio_tungstenite::connect_async(server.url("/reject")).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert_eq!(response.headers()["connection"], "close");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}

#[tokio::test]
async fn an_app_that_never_answers_the_handshake_gets_a_500() {
    let server = Server::start(Config::default());
    match tokio_tungstenite::connect_async(server.url("/forget")).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
        other => panic!("expected a 500, got {other:?}"),
    }
}

#[tokio::test]
async fn an_app_done_without_closing_leaves_without_a_close_frame() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/leave").await;
    // What it sent before it returned is delivered, then the socket closes (as uvicorn).
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::text("bye")
    );
    match next(&mut client).await {
        Some(Err(tungstenite::Error::Protocol(_))) | None => {}
        other => panic!("expected the connection to end without a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let server = Server::start(Config {
        websocket: WebSocketConfig {
            max_message_size: 1024,
            ..WebSocketConfig::default()
        },
        ..Config::default()
    });
    let (mut client, _) = connect(&server, "/echo").await;
    client.send(Message::binary(vec![1u8; 1024])).await.unwrap();
    assert_eq!(next(&mut client).await.unwrap().unwrap().len(), 1024);
    client.send(Message::binary(vec![1u8; 4096])).await.unwrap();
    assert_eq!(close_of(next(&mut client).await).0, 1009);
    assert!(server.logged("closed 1009 message too big").await);
}

#[tokio::test]
async fn the_server_pings_and_drops_a_client_that_never_answers() {
    let server = Server::start(Config {
        websocket: WebSocketConfig {
            ping_interval: Some(Duration::from_millis(50)),
            ping_timeout: Some(Duration::from_millis(100)),
            ..WebSocketConfig::default()
        },
        ..Config::default()
    });
    // A client that reads answers pings (tungstenite replies with the pong) and stays.
    let (reader, _) = connect(&server, "/echo").await;
    let (mut write, mut read) = reader.split();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let reading = tokio::spawn(async move {
        while let Some(Ok(message)) = read.next().await {
            if seen_tx.send(message).is_err() {
                break;
            }
        }
    });
    let ping = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Message::Ping(_)) = seen.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(ping.is_ok(), "no ping within 5 s");
    // A client that never reads never answers: the app is told 1006.
    let (silent, _) = connect(&server, "/echo").await;
    assert!(server.logged("closed 1006 ").await);
    // The reading client is still served.
    write.send(Message::text("still here")).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match seen.recv().await {
                Some(Message::Ping(_) | Message::Pong(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(echoed, Some(Message::text("still here")));
    reading.abort();
    drop(silent);
}

#[tokio::test]
async fn an_idle_websocket_outlives_the_keep_alive_timeout() {
    let server = Server::start(Config {
        keep_alive_timeout: Duration::from_millis(100),
        header_read_timeout: Duration::from_millis(100),
        ..Config::default()
    });
    let (mut client, _) = connect(&server, "/echo").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    client.send(Message::text("awake")).await.unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::text("awake")
    );
}

#[tokio::test]
async fn shutdown_closes_open_websockets_with_1012() {
    let server = Server::start(Config::default());
    let (mut client, _) = connect(&server, "/echo").await;
    client.send(Message::text("hi")).await.unwrap();
    assert_eq!(
        next(&mut client).await.unwrap().unwrap(),
        Message::text("hi")
    );
    server.shutdown.shutdown();
    assert_eq!(close_of(next(&mut client).await).0, 1012);
    assert!(server.logged("closed 1012 ").await);
}

#[tokio::test]
async fn plain_http_on_the_same_server_is_unaffected() {
    let server = Server::start(Config::default());
    let (_open, _) = connect(&server, "/echo").await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /plain HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("http /plain"), "{answer}");
}

#[tokio::test]
async fn a_handshake_with_another_version_is_426() {
    let server = Server::start(Config::default());
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            b"GET /echo HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
              sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 8\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(answer.contains("sec-websocket-version: 13\r\n"), "{answer}");
    assert!(server.log.lock().unwrap().is_empty());
}

#[test]
fn a_dispatcher_without_websockets_gets_the_handshake_as_plain_http() {
    let runtime = Runtime::new().unwrap();
    let listener =
        Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
    let dispatch = |request: Request<RequestBody>, _peer: &Peer| {
        Reply::Ready(Response::new(ResponseBody::from(format!(
            "plain {}",
            request.uri().path()
        ))))
    };
    let server = runtime
        .serve(listener, dispatch, Config::default())
        .unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = server.shutdown_handle();
    let client = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(
                b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade, close\r\n\
                  sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n",
            )
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        shutdown.shutdown();
        answer
    });
    runtime.run_until_stopped(&server);
    let answer = client.join().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("plain /ws"), "{answer}");
}
