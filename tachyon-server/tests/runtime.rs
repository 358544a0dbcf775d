//! `Runtime::turn`, the wake handle, and serving driven turn by turn.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http::{Request, Response};
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, TcpOptions, Wakeup,
};

const MARGIN: Duration = Duration::from_secs(3);

#[test]
fn turn_returns_at_its_timeout() {
    let runtime = Runtime::new().unwrap();
    let started = Instant::now();
    assert_eq!(
        runtime.turn(Some(Duration::from_millis(50)), None).unwrap(),
        Wakeup::TimedOut
    );
    assert!(started.elapsed() < Duration::from_millis(50) + MARGIN);
    assert_eq!(
        runtime.turn(Some(Duration::ZERO), None).unwrap(),
        Wakeup::TimedOut
    );
}

#[test]
fn turn_returns_early_when_wake_fd_becomes_readable() {
    let runtime = Runtime::new().unwrap();
    let (host, mut other) = UnixStream::pair().unwrap();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        other.write_all(b"!").unwrap();
        other
    });
    let started = Instant::now();
    let woke = runtime
        .turn(Some(Duration::from_secs(30)), Some(host.as_fd()))
        .unwrap();
    assert_eq!(woke, Wakeup::HostReady);
    assert!(started.elapsed() < MARGIN);
    let mut other = writer.join().unwrap();

    // Still readable (the host has not read it): the next turn returns at once.
    assert_eq!(
        runtime
            .turn(Some(Duration::from_secs(30)), Some(host.as_fd()))
            .unwrap(),
        Wakeup::HostReady
    );
    // Once the host has consumed it, the stale readiness does not end the next turn.
    let mut byte = [0u8; 1];
    (&host).read_exact(&mut byte).unwrap();
    assert_eq!(
        runtime
            .turn(Some(Duration::from_millis(50)), Some(host.as_fd()))
            .unwrap(),
        Wakeup::TimedOut
    );
    // New data ends a turn again.
    other.write_all(b"?").unwrap();
    assert_eq!(
        runtime
            .turn(Some(Duration::from_secs(30)), Some(host.as_fd()))
            .unwrap(),
        Wakeup::HostReady
    );
}

/// The intended host: an epoll descriptor (as asyncio's selector has) passed as `wake_fd`.
#[test]
fn turn_waits_on_a_host_epoll_descriptor() {
    // SAFETY: epoll_create1 has no memory preconditions; the result is checked below.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(epfd >= 0);
    // SAFETY: `epfd` was just created, is valid and owned by nothing else.
    let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
    let (watched, mut other) = UnixStream::pair().unwrap();
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: 7,
    };
    // SAFETY: both descriptors are open; `event` is a valid epoll_event for the call.
    let added =
        unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, watched.as_raw_fd(), &mut event) };
    assert_eq!(added, 0);

    let runtime = Runtime::new().unwrap();
    assert_eq!(
        runtime
            .turn(Some(Duration::from_millis(30)), Some(epoll.as_fd()))
            .unwrap(),
        Wakeup::TimedOut
    );
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        other.write_all(b"x").unwrap();
        other
    });
    assert_eq!(
        runtime
            .turn(Some(Duration::from_secs(30)), Some(epoll.as_fd()))
            .unwrap(),
        Wakeup::HostReady
    );
    let _other = writer.join().unwrap();
    // The host processes its event: epoll reports it; the host reads the data.
    let mut ready = [libc::epoll_event { events: 0, u64: 0 }; 4];
    // SAFETY: `ready` is a valid buffer of 4 events; a zero timeout never blocks.
    let n = unsafe { libc::epoll_wait(epfd, ready.as_mut_ptr(), 4, 0) };
    assert_eq!(n, 1);
    let token = ready[0].u64;
    assert_eq!(token, 7);
    let mut byte = [0u8; 1];
    (&watched).read_exact(&mut byte).unwrap();
    assert_eq!(
        runtime
            .turn(Some(Duration::from_millis(50)), Some(epoll.as_fd()))
            .unwrap(),
        Wakeup::TimedOut
    );
    runtime.forget_wake_fd();
}

#[test]
fn wake_handle_interrupts_a_turn_from_another_thread() {
    let runtime = Runtime::new().unwrap();
    let waker = runtime.wake_handle();
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        waker.wake();
    });
    let started = Instant::now();
    assert_eq!(runtime.turn(None, None).unwrap(), Wakeup::Woken);
    assert!(started.elapsed() < MARGIN);
    thread.join().unwrap();
    // A wake between turns is kept for the next one.
    runtime.wake_handle().wake();
    assert_eq!(
        runtime.turn(Some(Duration::from_secs(30)), None).unwrap(),
        Wakeup::Woken
    );
    assert_eq!(
        runtime.turn(Some(Duration::ZERO), None).unwrap(),
        Wakeup::TimedOut
    );
}

fn hello(request: Request<RequestBody>, _peer: &Peer) -> Reply {
    let path = request.uri().path().to_owned();
    Reply::pending(async move {
        tokio::task::yield_now().await;
        Response::new(ResponseBody::from(format!("hello {path}")))
    })
}

/// A keep-alive client on its own thread: `n` requests, the bodies it got.
fn client(addr: std::net::SocketAddr, n: usize) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut bodies = Vec::new();
        for i in 0..n {
            let last = if i + 1 == n {
                "connection: close\r\n"
            } else {
                ""
            };
            stream
                .write_all(format!("GET /r{i} HTTP/1.1\r\nhost: t\r\n{last}\r\n").as_bytes())
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // The body is the last thing of each response: read until it is complete.
            let expected = format!("hello /r{i}");
            while !buf.ends_with(expected.as_bytes()) {
                let k = stream.read(&mut chunk).unwrap();
                assert!(k > 0, "connection closed early");
                buf.extend_from_slice(&chunk[..k]);
            }
            bodies.push(expected);
        }
        bodies
    })
}

#[test]
fn turns_drive_the_server() {
    for timeout in [Some(Duration::from_millis(10)), Some(Duration::ZERO), None] {
        let runtime = Runtime::new().unwrap();
        let listener =
            Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), TcpOptions::default()).unwrap();
        let server = runtime.serve(listener, hello, Config::default()).unwrap();
        let waker = runtime.wake_handle();
        let thread = client(server.local_addr().unwrap(), 3);
        // Without a timeout the client's end is what ends the last turn. The flag is set
        // before the wake: a turn that the wake ended is followed by a check that sees it (the
        // thread itself may not have finished yet, so `is_finished` could still be false and
        // the next turn, with no timeout, would wait forever).
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let done = std::thread::spawn(move || {
            let bodies = thread.join().unwrap();
            flag.store(true, Ordering::SeqCst);
            waker.wake();
            bodies
        });
        let started = Instant::now();
        while !finished.load(Ordering::SeqCst) {
            runtime.turn(timeout, None).unwrap();
            assert!(
                started.elapsed() < MARGIN * 3,
                "the server made no progress ({timeout:?})"
            );
        }
        assert_eq!(
            done.join().unwrap(),
            ["hello /r0", "hello /r1", "hello /r2"]
        );
        server.shutdown();
        runtime.run_until_stopped(&server);
        assert!(server.is_stopped());
    }
}
