//! TLS plumbing shared by every connector: the one process-wide rustls crypto provider (`ring`), and
//! PEM files (CA bundle, client certificate chain, private key) loaded with errors that name the file.

use std::path::Path;
use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;

/// Installs `ring` as the process's default rustls provider. Idempotent; call it at startup (the
/// binary does) so every TLS client in the process — rumqttc, later the AWS SDK — uses one provider.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Where the TLS material comes from; paths are read at every connect (so renewed certificates apply).
#[derive(Clone, Debug, Default)]
pub struct TlsFiles<'a> {
    /// PEM CA bundle; `None` = the bundled Mozilla roots are NOT used, so a CA is required for TLS.
    pub ca_file: Option<&'a Path>,
    pub client_cert_file: Option<&'a Path>,
    pub client_key_file: Option<&'a Path>,
}

/// A rustls client configuration with server verification against `ca_file` and an optional client
/// certificate.
pub fn client_config(connector: &str, files: &TlsFiles<'_>) -> Result<Arc<ClientConfig>, Error> {
    install_crypto_provider();
    let cred = |what: &'static str, path: &Path, reason: String| Error::Credentials {
        connector: connector.to_owned(),
        what,
        path: path.display().to_string(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    if let Some(ca) = files.ca_file {
        let certs = read_certs(ca).map_err(|r| cred("CA file", ca, r))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| cred("CA file", ca, format!("not a usable CA certificate: {e}")))?;
        }
    }
    let builder = ClientConfig::builder().with_root_certificates(roots);
    let config = match (files.client_cert_file, files.client_key_file) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert).map_err(|r| cred("client certificate", cert, r))?;
            let key_der = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| cred("client key", key, format!("no usable PEM private key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| cred("client certificate", cert, e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("not valid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in the file".to_owned());
    }
    Ok(certs)
}
