//! TLS through rustls: a self-signed certificate made in the test, a rustls client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, ShutdownHandle, TcpOptions,
    Tls,
};

struct Running {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

fn start(tls: Tls, header_read_timeout: Duration) -> Running {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = Runtime::new().unwrap();
        let listener =
            Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
        let dispatch = |request: Request<RequestBody>, _: &Peer| {
            Reply::Ready(Response::new(ResponseBody::from(format!(
                "secret {}",
                request.uri().path()
            ))))
        };
        let config = Config {
            tls: Some(tls),
            header_read_timeout,
            ..Config::default()
        };
        let server = runtime.serve(listener, dispatch, config).unwrap();
        tx.send((server.local_addr().unwrap(), server.shutdown_handle()))
            .unwrap();
        runtime.run_until_stopped(&server);
    });
    let (addr, shutdown) = rx.recv().unwrap();
    Running {
        addr,
        shutdown,
        thread: Some(thread),
    }
}

fn self_signed() -> (Vec<u8>, Vec<u8>, rustls::pki_types::CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (
        certified.cert.pem().into_bytes(),
        certified.signing_key.serialize_pem().into_bytes(),
        certified.cert.der().clone(),
    )
}

fn client(root: rustls::pki_types::CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[test]
fn serves_https_with_a_pem_certificate() {
    let (cert, key, der) = self_signed();
    let server = start(Tls::from_pem(&cert, &key).unwrap(), Duration::from_secs(10));
    let config = client(der);
    for path in ["/one", "/two"] {
        let connection =
            rustls::ClientConnection::new(config.clone(), "localhost".try_into().unwrap()).unwrap();
        let tcp = TcpStream::connect(server.addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        write!(
            tls,
            "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = Vec::new();
        // A close without close_notify is an error to rustls; the bytes before it count.
        let _ = tls.read_to_end(&mut answer);
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(
            answer.ends_with(&format!("\r\n\r\nsecret {path}")),
            "{answer}"
        );
        assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
}

#[test]
fn cl_te_over_tls_is_400_after_the_requests_before_it() {
    // The head tracker reads the decrypted bytes: a CL+TE request is refused under TLS too.
    let (cert, key, der) = self_signed();
    let server = start(Tls::from_pem(&cert, &key).unwrap(), Duration::from_secs(10));
    let connection =
        rustls::ClientConnection::new(client(der), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    tls.write_all(
        b"POST /one HTTP/1.1\r\nhost: localhost\r\ncontent-length: 3\r\n\r\nabc\
          POST /two HTTP/1.1\r\nhost: localhost\r\ncontent-length: 3\r\n\
          transfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let second = answer
        .find("secret /one")
        .map(|at| &answer[at + "secret /one".len()..])
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        second.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(second.contains("connection: close\r\n"), "{answer}");
    assert!(!answer.contains("secret /two"), "{answer}");
}

#[test]
fn plain_http_to_a_tls_port_gets_no_http_answer() {
    let (cert, key, _) = self_signed();
    let server = start(Tls::from_pem(&cert, &key).unwrap(), Duration::from_secs(10));
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
}

#[test]
fn a_client_that_never_handshakes_is_closed_at_the_header_deadline() {
    let (cert, key, _) = self_signed();
    let server = start(
        Tls::from_pem(&cert, &key).unwrap(),
        Duration::from_millis(200),
    );
    let mut tcp = TcpStream::connect(server.addr).unwrap();
    // Far longer than the deadline: a read that returns at all shows the server closed it.
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = [0u8; 64];
    let read = tcp.read(&mut buf);
    assert!(
        matches!(read, Ok(0))
            || read.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset)
    );
}

#[test]
fn bad_pem_is_an_error_that_says_which() {
    let (cert, key, _) = self_signed();
    let err = Tls::from_pem(b"not a certificate", &key).unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");
    let err = Tls::from_pem(&cert, b"").unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
    let err = Tls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}
