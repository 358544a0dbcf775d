//! Serves a constant `hello, world` on 127.0.0.1:8000 (or the address given as the first
//! argument) until SIGTERM or SIGINT: the target of wrk runs.
//!
//! `cargo run --release --example hello -p tachyon-server -- 127.0.0.1:8000`
//!
//! With `--turn` after the address, the server is driven the way a host event loop drives it:
//! `Runtime::turn` in a loop, with an (empty) epoll descriptor of the "host" as `wake_fd`, and
//! a zero-timeout `epoll_wait` on it after each turn, as the host's selector does.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Request, Response};
use tachyon_server::{
    Config, Listener, Peer, Reply, RequestBody, ResponseBody, Runtime, TcpOptions,
};

fn hello(_request: Request<RequestBody>, _peer: &Peer) -> Reply {
    let mut response = Response::new(ResponseBody::from("hello, world"));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Reply::Ready(response)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    let turn = args.next().as_deref() == Some("--turn");
    let addr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = Listener::bind_tcp(addr, TcpOptions::default())?;
    eprintln!(
        "serving on http://{addr}{}",
        if turn { " (turn by turn)" } else { "" }
    );
    if !turn {
        return tachyon_server::serve(listener, hello, Config::default());
    }
    let runtime = Runtime::new()?;
    let server = runtime.serve(listener, hello, Config::default())?;
    runtime.shutdown_on_signals(server.shutdown_handle())?;
    // SAFETY: epoll_create1 has no memory preconditions; the result is checked.
    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if epfd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `epfd` was just created and is owned by nothing else.
    let host = unsafe { OwnedFd::from_raw_fd(epfd) };
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 16];
    while !server.is_stopped() {
        runtime.turn(Some(Duration::from_millis(100)), Some(host.as_fd()))?;
        // SAFETY: `events` is a valid buffer of 16 events; a zero timeout never blocks.
        unsafe { libc::epoll_wait(host.as_raw_fd(), events.as_mut_ptr(), 16, 0) };
    }
    Ok(())
}
