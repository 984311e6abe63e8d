//! The API's listener: plain TCP, or HTTPS with the user's certificate (rustls on the process's one
//! crypto provider, `ring`). TLS handshakes run in their own tasks with a time limit, so a client that
//! connects and says nothing holds up nobody else.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::guard::ClientAddr;

/// How long a client gets to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection's byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{key} = {path:?}: {reason}")]
pub struct TlsSetupError {
    pub key: &'static str,
    pub path: std::path::PathBuf,
    pub reason: String,
}

/// A rustls server configuration from a PEM certificate chain and its private key.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let err = |key_name, path: &Path, reason: String| TlsSetupError {
        key: key_name,
        path: path.to_owned(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err("api.tls_cert", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| err("api.tls_cert", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(err(
            "api.tls_cert",
            cert,
            "no certificate in the file".into(),
        ));
    }
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|e| err("api.tls_key", key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| {
            err(
                "api.tls_key",
                key,
                format!("does not fit the certificate: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The listener the API is served from.
pub struct ApiListener {
    local: SocketAddr,
    inner: Inner,
}

enum Inner {
    Plain(TcpListener),
    Tls {
        ready: mpsc::Receiver<(Box<dyn Io>, SocketAddr)>,
        _acceptor: AbortOnDrop,
    },
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl ApiListener {
    /// Serves plain HTTP on `tcp`, or HTTPS when `tls` is given.
    pub fn new(tcp: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let inner = match tls {
            None => Inner::Plain(tcp),
            Some(config) => {
                let (tx, ready) = mpsc::channel(64);
                let task = tokio::spawn(accept_tls(tcp, TlsAcceptor::from(config), tx));
                Inner::Tls {
                    ready,
                    _acceptor: AbortOnDrop(task),
                }
            }
        };
        Ok(ApiListener { local, inner })
    }
}

async fn accept_tls(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(Box<dyn Io>, SocketAddr)>,
) {
    loop {
        let (stream, addr) = match TcpListener::accept(&tcp).await {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "API: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((Box::new(tls) as Box<dyn Io>, addr)).await;
                }
                Ok(Err(e)) => {
                    tracing::debug!(client = %addr, error = %e, "API: TLS handshake failed")
                }
                Err(_) => tracing::debug!(client = %addr, "API: TLS handshake timed out"),
            }
        });
    }
}

impl Listener for ApiListener {
    type Io = Box<dyn Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match &mut self.inner {
            Inner::Plain(tcp) => {
                // axum's own accept loop for TCP (it retries and backs off on errors).
                let (stream, addr) = Listener::accept(tcp).await;
                (Box::new(stream), addr)
            }
            Inner::Tls { ready, .. } => match ready.recv().await {
                Some(pair) => pair,
                // The acceptor task only ends when aborted, i.e. when this listener is dropped.
                None => std::future::pending().await,
            },
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl Connected<IncomingStream<'_, ApiListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, ApiListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}
