//! SIGTERM / SIGINT start graceful shutdown (its own test binary: the handlers are
//! process-wide).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, TcpOptions,
};

/// Set when the request has reached the dispatcher.
static DISPATCHED: AtomicBool = AtomicBool::new(false);

fn slow(_request: Request<RequestBody>, _peer: &Peer) -> Reply {
    DISPATCHED.store(true, Ordering::SeqCst);
    Reply::pending(async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        Response::new(ResponseBody::from("finished"))
    })
}

#[test]
fn sigterm_and_sigint_shut_the_server_down_gracefully() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        DISPATCHED.store(false, Ordering::SeqCst);
        let runtime = Runtime::new().unwrap();
        let listener =
            Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
        let server = runtime.serve(listener, slow, Config::default()).unwrap();
        runtime
            .shutdown_on_signals(server.shutdown_handle())
            .unwrap();
        let addr = server.local_addr().unwrap();
        let client = std::thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nhost: t\r\n\r\n")
                .unwrap();
            // The request is in flight (for 100 ms) when the signal arrives.
            let started = Instant::now();
            while !DISPATCHED.load(Ordering::SeqCst) {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "never dispatched"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
            // SAFETY: raise has no memory preconditions; the runtime handles the signal.
            assert_eq!(unsafe { libc::raise(signal) }, 0);
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        });
        runtime.run_until_stopped(&server);
        let answer = client.join().unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.contains("connection: close\r\n"), "{answer}");
        assert!(answer.ends_with("\r\n\r\nfinished"), "{answer}");
    }
}
