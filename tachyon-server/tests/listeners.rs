//! Listeners: Unix sockets, descriptors taken over, SO_REUSEPORT.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use http::{Request, Response};
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, TcpOptions,
};

/// Answers with the peer's address as the dispatcher saw it.
fn who(_request: Request<RequestBody>, peer: &Peer) -> Reply {
    Reply::Ready(Response::new(ResponseBody::from(format!(
        "{:?}",
        peer.remote
    ))))
}

/// Serves `listener` on a thread while `client` runs, then shuts down; the client's result.
fn with_server<T: Send + 'static>(
    listener: Listener,
    client: impl FnOnce() -> T + Send + 'static,
) -> T {
    let runtime = Runtime::new().unwrap();
    let server = runtime.serve(listener, who, Config::default()).unwrap();
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || {
        let out = client();
        shutdown.shutdown();
        out
    });
    runtime.run_until_stopped(&server);
    thread.join().unwrap()
}

fn exchange(mut stream: impl Read + Write) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

fn socket_path(name: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("tachyon-server-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn serves_a_unix_socket() {
    let path = socket_path("uds");
    let listener = Listener::bind_unix(&path).unwrap();
    assert!(
        Listener::bind_unix(&path).is_err(),
        "an existing socket file is an error"
    );
    let client_path = path.clone();
    let out = with_server(listener, move || {
        exchange(UnixStream::connect(client_path).unwrap())
    });
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nNone"), "{out}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn takes_over_an_open_tcp_descriptor() {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let listener = Listener::from_fd(OwnedFd::from(std_listener)).unwrap();
    assert!(matches!(listener, Listener::Tcp(_)));
    assert_eq!(listener.local_addr().unwrap(), Some(addr));
    let out = with_server(listener, move || {
        let stream = TcpStream::connect(addr).unwrap();
        let local = stream.local_addr().unwrap();
        (exchange(stream), local)
    });
    assert!(out.0.starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(out.0.ends_with(&format!("Some({})", out.1)), "{}", out.0);
}

#[test]
fn takes_over_an_open_unix_descriptor() {
    let path = socket_path("fd");
    let std_listener = UnixListener::bind(&path).unwrap();
    let listener = Listener::from_fd(OwnedFd::from(std_listener)).unwrap();
    assert!(matches!(listener, Listener::Unix(_)));
    let client_path = path.clone();
    let out = with_server(listener, move || {
        exchange(UnixStream::connect(client_path).unwrap())
    });
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn refuses_a_descriptor_that_is_not_a_socket() {
    let file = std::fs::File::open("/dev/null").unwrap();
    assert!(Listener::from_fd(OwnedFd::from(file)).is_err());
}

#[test]
fn reuse_port_lets_several_listeners_share_a_port() {
    let options = TcpOptions {
        reuse_port: true,
        ..TcpOptions::default()
    };
    let first = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), options).unwrap();
    let addr = first.local_addr().unwrap().unwrap();
    let second = Listener::bind_tcp(addr, options).unwrap();
    assert_eq!(second.local_addr().unwrap(), Some(addr));
    // Without SO_REUSEPORT the port is taken.
    let err = Listener::bind_tcp(addr, TcpOptions::default()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    // The one left serves the shared port.
    drop(first);
    let out = with_server(second, move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        exchange(stream)
    });
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"));
}
