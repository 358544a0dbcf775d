//! A server with a fake dispatcher on its own thread, and a raw HTTP/1.1 client over a
//! blocking socket (responses parsed with httparse).

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, ShutdownHandle, TcpOptions,
};

/// What the fake dispatcher saw and did, shared with the test thread.
#[derive(Default)]
pub struct Shared {
    /// The path of every request dispatched, in order.
    pub log: Mutex<Vec<String>>,
    /// How many streamed response bodies were dropped before they were finished (client gone).
    pub streams_dropped: AtomicUsize,
    /// How many pending replies were dropped before they completed (client gone).
    pub pending_dropped: AtomicUsize,
}

/// Counts a pending reply dropped before it completed.
struct Unfinished(Option<Arc<Shared>>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.pending_dropped.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Shared {
    pub fn paths(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

/// A running test server; shuts down and joins its thread when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    pub shutdown: ShutdownHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(config: Config) -> TestServer {
        let shared = Arc::new(Shared::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let app_shared = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = Runtime::new().unwrap();
            let listener =
                Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
            let app = move |request: Request<RequestBody>, _peer: &Peer| {
                fake_app(request, app_shared.clone())
            };
            let server = runtime.serve(listener, app, config).unwrap();
            tx.send((server.local_addr().unwrap(), server.shutdown_handle()))
                .unwrap();
            runtime.run_until_stopped(&server);
        });
        let (addr, shutdown) = rx.recv().unwrap();
        TestServer {
            addr,
            shared,
            shutdown,
            thread: Some(thread),
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Shuts down and waits for the server thread to return.
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.shutdown.shutdown();
        self.thread.take().unwrap().join().unwrap();
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn text(status: StatusCode, body: impl Into<ResponseBody>) -> Response<ResponseBody> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
}

/// The fake application:
/// - `/pending/<ms>`: answers its path after sleeping `ms` milliseconds (a pending reply;
///   counted in `pending_dropped` if dropped before then);
/// - `/collect`: reads the whole body, answers `len=<bytes> sum=<sum of the bytes>`
///   (a `500` if reading failed; the server turns that into its `413` / `408`);
/// - `/count`: streams the body frame by frame, answers `len=<bytes> frames=<frames>`;
/// - `/stream/<n>`: a chunked response of `n` chunks `chunk<i>;`;
/// - `/forever`: 64 KiB chunks until the client is gone (then counts a dropped stream);
/// - `/panic`: the dispatcher panics;
/// - anything else: `hello <path>`, ready at once.
fn fake_app(request: Request<RequestBody>, shared: Arc<Shared>) -> Reply {
    let path = request.uri().path().to_owned();
    shared.log.lock().unwrap().push(path.clone());
    if let Some(ms) = path.strip_prefix("/pending/") {
        let ms: u64 = ms.parse().unwrap();
        let mut unfinished = Unfinished(Some(shared));
        return Reply::pending(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            unfinished.0.take();
            text(StatusCode::OK, path)
        });
    }
    match path.as_str() {
        "/collect" => Reply::pending(async move {
            match request.into_body().collect_bytes().await {
                Ok(body) => {
                    let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
                    text(StatusCode::OK, format!("len={} sum={sum}", body.len()))
                }
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }),
        "/count" => Reply::pending(async move {
            let mut body = request.into_body();
            let (mut len, mut frames) = (0usize, 0usize);
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(data) = frame.data_ref() {
                            len += data.len();
                            frames += 1;
                        }
                    }
                    Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                }
            }
            text(StatusCode::OK, format!("len={len} frames={frames}"))
        }),
        "/panic" => panic!("the fake dispatcher panics on /panic"),
        "/forever" => {
            let (sender, body) = ResponseBody::channel(4);
            tokio::task::spawn_local(async move {
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                while sender.send(chunk.clone()).await.is_ok() {}
                shared.streams_dropped.fetch_add(1, Ordering::SeqCst);
            });
            Reply::Ready(text(StatusCode::OK, body))
        }
        _ if path.starts_with("/stream/") => {
            let n: usize = path["/stream/".len()..].parse().unwrap();
            let (sender, body) = ResponseBody::channel(1);
            tokio::task::spawn_local(async move {
                for i in 0..n {
                    sender.send(format!("chunk{i};")).await.unwrap();
                    tokio::task::yield_now().await;
                }
            });
            Reply::Ready(text(StatusCode::OK, body))
        }
        _ => Reply::Ready(text(StatusCode::OK, format!("hello {path}"))),
    }
}

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// A raw client over one blocking socket, with its own read buffer.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends `GET path` (keep-alive) and reads the response.
    pub fn get(&mut self, path: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes());
        self.read_response(false).unwrap()
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one response; `head_request`: it has no body whatever its headers say.
    pub fn read_response(&mut self, head_request: bool) -> io::Result<Resp> {
        let (status, headers, consumed) = loop {
            let mut parsed = [httparse::EMPTY_HEADER; 64];
            let mut response = httparse::Response::new(&mut parsed);
            match response
                .parse(&self.buf)
                .map_err(|e| io::Error::other(e.to_string()))?
            {
                httparse::Status::Complete(n) => {
                    let headers = response
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect::<Vec<_>>();
                    break (response.code.unwrap(), headers, n);
                }
                httparse::Status::Partial => {
                    if self.fill()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
            }
        };
        self.buf.drain(..consumed);
        let mut resp = Resp {
            status,
            headers,
            body: Vec::new(),
        };
        if head_request || status == 100 || status == 204 || status == 304 {
            return Ok(resp);
        }
        if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().unwrap();
            while self.buf.len() < len {
                if self.fill()? == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            resp.body = self.buf.drain(..len).collect();
        } else if resp
            .header("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            loop {
                let (start, size) = loop {
                    match httparse::parse_chunk_size(&self.buf)
                        .map_err(|_| io::Error::other("chunk size"))?
                    {
                        httparse::Status::Complete(found) => break found,
                        httparse::Status::Partial => {
                            if self.fill()? == 0 {
                                return Err(io::ErrorKind::UnexpectedEof.into());
                            }
                        }
                    }
                };
                let size = size as usize;
                while self.buf.len() < start + size + 2 {
                    if self.fill()? == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                }
                resp.body.extend_from_slice(&self.buf[start..start + size]);
                self.buf.drain(..start + size + 2);
                if size == 0 {
                    break;
                }
            }
        } else {
            while self.fill()? > 0 {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Ok(resp)
    }

    /// Whether the server closed the connection (EOF or reset) within `within`, reading and
    /// discarding anything it still sends.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.fill() {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false;
                }
                Err(_) => return true,
            }
        }
    }

    /// The bytes received and not yet parsed.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }
}

/// Polls `check` until it holds or `within` passes.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    check()
}

/// A configuration with short deadlines for the hostile-client tests.
pub fn short() -> Config {
    Config {
        header_read_timeout: Duration::from_millis(200),
        body_read_timeout: Duration::from_millis(200),
        write_timeout: Duration::from_millis(200),
        keep_alive_timeout: Duration::from_millis(500),
        linger_timeout: Duration::from_millis(200),
        shutdown_timeout: Duration::from_millis(500),
        ..Config::default()
    }
}

/// The generous margin beyond a configured deadline within which a cut-off must happen.
pub const MARGIN: Duration = Duration::from_secs(3);
