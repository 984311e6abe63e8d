//! The commands that talk to a *running* bridge over its local HTTP API (`hubbridge status`,
//! `hubbridge devices`, `hubbridge fabrics [remove N]`): where the API is, which token to send, one HTTP/1.1 GET (TLS when the API uses
//! it), and errors that say what went wrong in plain words. The human output lives in [`render`].

mod render;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Empty, Limited};
use hubbridge::api::tokens;
use hubbridge::config::Config;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Environment variable holding the token (instead of `--token` or the token file).
pub const TOKEN_ENV: &str = "HUBBRIDGE_TOKEN";
/// How long connecting and each request may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read (a bridge with thousands of devices stays well below).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Where the running bridge's API is and how to authenticate to it.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// Configuration file of the running bridge: its api.listen, TLS and storage dir (token file) are
    /// used. Without it (and without --api/--storage): the built-in demo's (127.0.0.1:8080, ./hubbridge-data).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Storage directory holding the token file `api-token` (overrides bridge.storage_dir).
    #[arg(long, value_name = "DIR")]
    pub storage: Option<PathBuf>,
    /// The API's address: HOST:PORT, http://HOST:PORT or https://HOST:PORT (overrides api.listen).
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// The API token (admin or read-only); else $HUBBRIDGE_TOKEN, --token-file, or <storage>/api-token.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    pub token: Option<String>,
    /// A file holding the API token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM CA certificate(s) to trust for an https API (default: the certificates in api.tls_cert).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Print the API's JSON instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

/// The API's location as the client reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    /// Host name or address as given (the `Host` header and the TLS server name).
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority())
    }
}

impl Endpoint {
    /// Parses `--api`: `HOST:PORT`, `[V6]:PORT`, with an optional `http://` / `https://`.
    pub fn parse(text: &str) -> anyhow::Result<Endpoint> {
        let bad = |why: &str| {
            anyhow::anyhow!("--api {text:?}: {why} (want HOST:PORT or http[s]://HOST:PORT)")
        };
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else if text.contains("://") {
            return Err(bad("only http and https are spoken"));
        } else {
            (false, text)
        };
        let rest = rest.trim_end_matches('/');
        if rest.contains('/') {
            return Err(bad("give the address only, no path"));
        }
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number 1..65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err(bad("empty host or port 0"));
        }
        Ok(Endpoint {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// The endpoint of a bridge listening on `listen`: a wildcard address is reached over loopback.
    pub fn of_listen(listen: SocketAddr, https: bool) -> Endpoint {
        let ip = match listen.ip() {
            IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Endpoint {
            https,
            host: ip.to_string(),
            port: listen.port(),
        }
    }

    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A client of one running bridge.
pub struct Client {
    endpoint: Endpoint,
    token: Option<String>,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl RemoteArgs {
    /// Resolves the endpoint, the token and the TLS trust from the flags, the environment and the config.
    pub fn client(&self) -> anyhow::Result<Client> {
        let mut config = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::demo(),
        };
        if let Some(storage) = &self.storage {
            config.bridge.storage_dir = storage.clone();
        }
        let endpoint = match &self.api {
            Some(text) => Endpoint::parse(text)?,
            None => Endpoint::of_listen(config.api.listen, config.api.tls()),
        };
        let token = self.token(&config)?;
        let tls = if endpoint.https {
            let ca = self.ca.clone().or_else(|| config.api.tls_cert.clone());
            let Some(ca) = ca else {
                bail!("{endpoint} is https: name the CA to trust with --ca FILE");
            };
            Some(tls_connector(&ca)?)
        } else {
            None
        };
        Ok(Client {
            endpoint,
            token,
            tls,
        })
    }

    fn token(&self, config: &Config) -> anyhow::Result<Option<String>> {
        if let Some(token) = &self.token {
            return Ok(Some(token.trim().to_owned()));
        }
        if let Some(token) = std::env::var_os(TOKEN_ENV) {
            return Ok(Some(token.to_string_lossy().trim().to_owned()));
        }
        if let Some(path) = &self.token_file {
            return read_token(path).map(Some);
        }
        let path = tokens::token_path(&config.bridge.storage_dir, None);
        match std::fs::metadata(&path) {
            Ok(_) => read_token(&path).map(Some),
            // A bridge with api.auth = false needs none; one that has never started has none yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !config.api.auth => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no API token at {}: has the bridge ever started with this storage directory? \
                 (pass --config, --storage, --token or ${TOKEN_ENV})",
                path.display()
            ),
            Err(e) => Err(token_read_error(&path, &e)),
        }
    }
}

fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| token_read_error(path, &e))?;
    let token = text.trim();
    if token.is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    Ok(token.to_owned())
}

fn token_read_error(path: &Path, e: &std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        anyhow::anyhow!(
            "cannot read the API token {}: permission denied (run as root or the bridge's user, \
             e.g. `sudo -u hubbridge hubbridge status`, or pass --token / ${TOKEN_ENV})",
            path.display()
        )
    } else {
        anyhow::anyhow!("cannot read the API token {}: {e}", path.display())
    }
}

fn tls_connector(ca: &Path) -> anyhow::Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = rustls_pki_types::pem::PemObject::pem_file_iter(ca)
        .and_then(|i| i.collect::<Result<_, _>>())
        .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        bail!("{}: no usable certificate in the CA file", ca.display());
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

impl Client {
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// GETs `path` and parses the JSON answer; a non-2xx answer is an error in plain words.
    pub async fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        self.call(Method::GET, path).await
    }

    /// Sends `method path` (no body) and parses the JSON answer; a non-2xx answer is an error in
    /// plain words, with the bridge's own message.
    pub async fn call(&self, method: Method, path: &str) -> anyhow::Result<serde_json::Value> {
        let (status, body) = tokio::time::timeout(TIMEOUT, self.request(&method, path))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the bridge at {} did not answer within {}s",
                    self.endpoint,
                    TIMEOUT.as_secs()
                )
            })??;
        let message = || {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).trim().to_owned())
        };
        match status {
            s if s.is_success() => serde_json::from_slice(&body).with_context(|| {
                format!(
                    "the bridge at {} answered {path} with no JSON",
                    self.endpoint
                )
            }),
            StatusCode::UNAUTHORIZED => bail!(
                "the bridge at {} refused the token (401: {}); check --token / ${TOKEN_ENV} / the \
                 token file (after `hubbridge token --rotate` only the new token works)",
                self.endpoint,
                message()
            ),
            StatusCode::FORBIDDEN => bail!(
                "the bridge at {} refused {method} {path} for this token (403: {}): a read-only \
                 token can only read what is not secret",
                self.endpoint,
                message()
            ),
            s => bail!(
                "the bridge at {} answered {method} {path} with {s}: {}",
                self.endpoint,
                message()
            ),
        }
    }

    async fn request(&self, method: &Method, path: &str) -> anyhow::Result<(StatusCode, Bytes)> {
        let target = format!("{}:{}", self.endpoint.host, self.endpoint.port);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&target)
            .await
            .with_context(|| format!("cannot resolve {}", self.endpoint.host))?
            .collect();
        let mut last = None;
        let mut tcp = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let Some(tcp) = tcp else {
            let why = last.map_or_else(|| "no address".to_owned(), |e| e.to_string());
            bail!("no bridge is running at {} ({why})", self.endpoint);
        };
        match &self.tls {
            None => self.send(tcp, method, path).await,
            Some(tls) => {
                let name = ServerName::try_from(self.endpoint.host.clone()).with_context(|| {
                    format!(
                        "--api: {:?} is not a valid TLS server name",
                        self.endpoint.host
                    )
                })?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .with_context(|| format!("TLS with the bridge at {} failed", self.endpoint))?;
                self.send(stream, method, path).await
            }
        }
    }

    async fn send<S>(
        &self,
        stream: S,
        method: &Method,
        path: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP with the bridge at {} failed", self.endpoint))?;
        let driver = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(hyper::header::HOST, self.endpoint.authority())
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .context("building the request")?;
        let response = sender
            .send_request(request)
            .await
            .with_context(|| format!("the bridge at {} closed the connection", self.endpoint))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer of {}: {e}", self.endpoint))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    }
}

/// `hubbridge status`: health, pairing and connectors of the running bridge.
pub async fn status(args: &RemoteArgs) -> anyhow::Result<String> {
    let client = args.client()?;
    let health = client.get("/api/health").await?;
    let devices = client.get("/api/devices").await?;
    // The pairing route is admin-only: a read-only token still gets the rest.
    let pairing = client.get("/api/pairing").await.ok();
    let connectors = client.get("/api/connectors").await?;
    if args.json {
        let mut out = serde_json::json!({ "api": client.endpoint().to_string(), "health": health });
        if let Some(p) = &pairing {
            out["fabrics"] = p.get("fabrics").cloned().unwrap_or_default();
        }
        out["reachable_devices"] = render::reachable(&devices).into();
        out["connectors"] = connectors.get("connectors").cloned().unwrap_or_default();
        return Ok(serde_json::to_string_pretty(&out)? + "\n");
    }
    Ok(render::status(
        client.endpoint(),
        &health,
        &devices,
        pairing.as_ref(),
        Some(&connectors),
    ))
}

/// `hubbridge devices`: every device of the running bridge.
pub async fn devices(args: &RemoteArgs) -> anyhow::Result<String> {
    let client = args.client()?;
    let devices = client.get("/api/devices").await?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&devices)? + "\n");
    }
    Ok(render::devices(&devices))
}

/// `hubbridge nodes`: the Matter nodes of the running bridge and their pairing state.
pub async fn nodes(args: &RemoteArgs) -> anyhow::Result<String> {
    let client = args.client()?;
    let nodes = client.get("/api/nodes").await?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&nodes)? + "\n");
    }
    Ok(render::nodes(&nodes))
}

/// `hubbridge fabrics [remove INDEX]`.
#[derive(Debug, Args)]
pub struct FabricsArgs {
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// `remove`: unpair the fabric INDEX (its controller can no longer reach the bridge).
    #[arg(value_name = "remove", value_parser = ["remove"], requires = "index")]
    pub action: Option<String>,
    /// The fabric index to remove, as `hubbridge fabrics` lists it.
    #[arg(value_name = "INDEX", value_parser = clap::value_parser!(u8).range(1..=254))]
    pub index: Option<u8>,
    /// The Matter node (`hubbridge nodes` lists them); default the `[bridge]` node.
    #[arg(long, value_name = "ID")]
    pub node: Option<String>,
}

/// `hubbridge fabrics`: the controllers the running bridge is paired with; `remove N` unpairs one.
pub async fn fabrics(args: &FabricsArgs) -> anyhow::Result<String> {
    let client = args.remote.client()?;
    let base = match &args.node {
        Some(id) => {
            hubbridge::config::check_id(id)
                .map_err(|reason| anyhow::anyhow!("--node {id:?}: {reason}"))?;
            format!("/api/nodes/{id}/fabrics")
        }
        None => "/api/fabrics".to_owned(),
    };
    let answer = match (args.action.as_deref(), args.index) {
        (Some(_), Some(index)) => {
            client
                .call(Method::DELETE, &format!("{base}/{index}"))
                .await?
        }
        (Some(_), None) => bail!("hubbridge fabrics remove: name the fabric INDEX to remove"),
        (None, Some(index)) => {
            bail!("hubbridge fabrics {index}: did you mean `hubbridge fabrics remove {index}`?")
        }
        (None, None) => client.get(&base).await?,
    };
    if args.remote.json {
        return Ok(serde_json::to_string_pretty(&answer)? + "\n");
    }
    Ok(if args.action.is_some() {
        render::removed(&answer)
    } else {
        render::fabrics(&answer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_addresses_parse() {
        let e = Endpoint::parse("127.0.0.1:8080").unwrap();
        assert_eq!(
            (e.https, e.host.as_str(), e.port),
            (false, "127.0.0.1", 8080)
        );
        assert_eq!(e.to_string(), "http://127.0.0.1:8080");
        let e = Endpoint::parse("https://hub.lan:8443/").unwrap();
        assert_eq!((e.https, e.host.as_str(), e.port), (true, "hub.lan", 8443));
        let e = Endpoint::parse("http://[fd42::1]:80").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("fd42::1", 80));
        assert_eq!(e.to_string(), "http://[fd42::1]:80");
        for bad in [
            "hub.lan",
            "ftp://x:1",
            "x:notaport",
            "x:0",
            "http://x:1/api",
            ":80",
        ] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(err.contains("--api") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn a_wildcard_listen_is_reached_over_loopback() {
        let e = Endpoint::of_listen("0.0.0.0:8080".parse().unwrap(), false);
        assert_eq!(e.to_string(), "http://127.0.0.1:8080");
        let e = Endpoint::of_listen("[::]:8443".parse().unwrap(), true);
        assert_eq!(e.to_string(), "https://[::1]:8443");
    }

    #[test]
    fn a_missing_token_file_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let args = RemoteArgs {
            config: None,
            storage: Some(dir.path().to_owned()),
            api: None,
            token: None,
            token_file: None,
            ca: None,
            json: false,
        };
        std::env::remove_var(TOKEN_ENV);
        let e = args.client().err().unwrap().to_string();
        assert!(e.contains("api-token") && e.contains("--token"), "{e}");
    }

    #[tokio::test]
    async fn nothing_listening_is_named_plainly() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client {
            endpoint: Endpoint::parse(&format!("127.0.0.1:{port}")).unwrap(),
            token: Some("x".into()),
            tls: None,
        };
        let e = client.get("/api/health").await.unwrap_err().to_string();
        assert!(
            e.contains("no bridge is running at http://127.0.0.1:") && e.contains("refused"),
            "{e}"
        );
    }
}
