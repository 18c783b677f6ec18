//! TLS on the one port, with rustls: the server certificate is read again
//! when its files change (new handshakes get it; open connections go on),
//! ALPN offers HTTP/2 and HTTP/1.1 (gRPC, grpc-web and the side door alike),
//! and with a client CA the peer's certificate is verified and its SHA-256
//! thumbprint handed to the layers (RFC 8705 certificate-bound tokens).

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::SystemTime,
};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use rustls::{
    ServerConfig,
    crypto::CryptoProvider,
    server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier},
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use sha2::{Digest as _, Sha256};

use crate::{
    config::{ClientAuth, TlsConfig},
    error::BoxError,
};

/// The TLS side of the listener, when `--tls-cert` is given.
pub fn server_config(config: &TlsConfig) -> Result<Option<Arc<ServerConfig>>, BoxError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = Arc::new(ReloadingCert::load(
        cert.clone(),
        key.clone(),
        provider.clone(),
    )?);
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &config.tls_client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = match config.tls_client_auth {
                ClientAuth::Optional => verifier.allow_unauthenticated().build()?,
                ClientAuth::Required => verifier.build()?,
            };
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut server = builder.with_cert_resolver(resolver);
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Arc::new(server)))
}

/// The SHA-256 thumbprint of a certificate, base64url: `x5t#S256` of RFC
/// 8705 (and of JWK).
pub fn thumbprint(cert: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(cert))
}

/// The thumbprint of the first certificate in a PEM text; the error is a
/// field violation's description.
pub fn pem_thumbprint(pem: &str) -> Result<String, String> {
    let cert = CertificateDer::from_pem_slice(pem.trim().as_bytes())
        .map_err(|_| "must be an X.509 certificate in PEM".to_owned())?;
    Ok(thumbprint(&cert))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, BoxError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", path.display()).into());
    }
    Ok(certs)
}

/// The server certificate, read again when its files change: each handshake
/// looks at the files' modification times (two `stat`s, far below the cost
/// of the handshake) and loads them when they moved. A pair that does not
/// load (half-written, mismatched) is logged and the old one kept.
#[derive(Debug)]
struct ReloadingCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<(Stamp, Arc<CertifiedKey>)>,
}

type Stamp = (Option<SystemTime>, Option<SystemTime>);

impl ReloadingCert {
    fn load(
        cert_path: PathBuf,
        key_path: PathBuf,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, BoxError> {
        let stamp = stamp(&cert_path, &key_path);
        let key = certified_key(&cert_path, &key_path, &provider)?;
        Ok(Self {
            cert_path,
            key_path,
            provider,
            current: RwLock::new((stamp, Arc::new(key))),
        })
    }

    fn refresh(&self) -> Arc<CertifiedKey> {
        let now = stamp(&self.cert_path, &self.key_path);
        let (seen, key) = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if now == seen {
            return key;
        }
        match certified_key(&self.cert_path, &self.key_path, &self.provider) {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (now, fresh.clone());
                tracing::info!(cert = %self.cert_path.display(), "TLS certificate reloaded");
                fresh
            }
            Err(err) => {
                tracing::warn!(error = %err, "TLS certificate files changed but do not load; keeping the old ones");
                key
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.refresh())
    }
}

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (modified(cert), modified(key))
}

fn certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, BoxError> {
    let chain = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let certified = CertifiedKey::from_der(chain, key, provider)?;
    Ok(certified)
}
