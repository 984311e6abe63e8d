//! systemd's readiness protocol (`sd_notify`): `READY=1`, `STATUS=…` and `STOPPING=1` datagrams to the
//! socket named by `$NOTIFY_SOCKET`, so a `Type=notify` unit is "started" only once the bridge serves.
//!
//! The protocol is one `AF_UNIX` datagram of newline-separated `KEY=VALUE` assignments to the path in
//! `$NOTIFY_SOCKET` (a leading `@` names an abstract socket). Without the variable (not under systemd, or
//! a unit of another type) every call does nothing. A failure to notify is logged once and never stops the
//! bridge: readiness is a courtesy to the service manager, not a precondition of serving.

use std::io;
use std::os::unix::net::UnixDatagram;

/// The environment variable systemd sets for `Type=notify` services.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// Sends `state` (e.g. `"READY=1\nSTATUS=serving"`) to the service manager, if there is one.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os(NOTIFY_SOCKET) else {
        return;
    };
    let socket = socket.to_string_lossy().into_owned();
    if let Err(e) = send(&socket, state) {
        tracing::warn!(socket = %socket, error = %e, "cannot notify the service manager");
    }
}

/// Sends one notification datagram to `socket` (a path, or `@name` for an abstract socket).
pub fn send(socket: &str, state: &str) -> io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = socket.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else if socket.starts_with('/') {
        sock.send_to(state.as_bytes(), socket)?;
    } else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{NOTIFY_SOCKET}={socket:?}: neither an absolute path nor an abstract name (@…)"
            ),
        ));
    }
    Ok(())
}

/// Tells the service manager the bridge is ready, then keeps its `STATUS=` line in step with pairing
/// (a task that ends with the sender). Does nothing when not started by systemd.
pub fn ready(mut pairing: tokio::sync::watch::Receiver<crate::matter::PairingStatus>) {
    if std::env::var_os(NOTIFY_SOCKET).is_none() {
        return;
    }
    let status = |p: &crate::matter::PairingStatus| pairing_status(p.commissioned, p.fabrics);
    notify(&format!(
        "READY=1\n{}",
        status(&pairing.borrow_and_update())
    ));
    tokio::spawn(async move {
        while pairing.changed().await.is_ok() {
            let line = status(&pairing.borrow_and_update());
            notify(&line);
        }
    });
}

/// The `STATUS=` line systemctl shows for the bridge's pairing state (never the pairing code).
pub fn pairing_status(commissioned: bool, fabrics: usize) -> String {
    if commissioned {
        format!("STATUS=serving; paired with {fabrics} fabric(s)")
    } else {
        "STATUS=serving; not paired: commissioning window open (`hubbridge pairing` shows the code)"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_reaches_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let server = UnixDatagram::bind(&path).unwrap();
        send(path.to_str().unwrap(), "READY=1\nSTATUS=x").unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=x");
    }

    #[test]
    fn a_datagram_reaches_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hubbridge-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let server = UnixDatagram::bind_addr(&addr).unwrap();
        send(&format!("@{name}"), "STOPPING=1").unwrap();
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn a_relative_socket_is_refused_naming_the_variable() {
        let e = send("relative/sock", "READY=1").unwrap_err().to_string();
        assert!(
            e.contains("NOTIFY_SOCKET") && e.contains("relative/sock"),
            "{e}"
        );
    }

    #[test]
    fn status_never_carries_the_code() {
        assert!(pairing_status(false, 0).contains("not paired"));
        assert_eq!(
            pairing_status(true, 2),
            "STATUS=serving; paired with 2 fabric(s)"
        );
    }
}
