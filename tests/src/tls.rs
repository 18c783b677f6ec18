//! Certificates the tests make (rcgen): a CA, server certificates for
//! `localhost`, client certificates; and clients that trust that CA.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use tenantry_client::{RetryPolicy, Tenantry};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::TestApp;

/// A certificate authority of the test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Pair {
    pub cert: String,
    pub key: String,
    /// SHA-256 of the public key (SubjectPublicKeyInfo), base64: what
    /// Chromium's `--ignore-certificate-errors-spki-list` takes.
    pub spki_sha256: String,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        install_crypto();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self) -> Pair {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate for `name`.
    pub fn client(&self, name: &str) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Pair {
        use base64::{Engine as _, engine::general_purpose::STANDARD};
        use sha2::Digest as _;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
            spki_sha256: STANDARD.encode(sha2::Sha256::digest(
                rcgen::PublicKeyData::subject_public_key_info(&key),
            )),
        }
    }
}

impl Pair {
    /// Writes the pair as `<name>.crt` and `<name>.key` in `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert).unwrap();
        std::fs::write(&key, &self.key).unwrap();
        (cert, key)
    }
}

/// rustls needs one process-wide crypto provider when several are linked.
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

impl TestApp {
    /// `https://localhost:<port>` of instance 0.
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.addr().port())
    }

    /// A client over TLS that trusts `ca`, presenting `identity` if given.
    pub async fn tls_client(
        &self,
        ca: &str,
        identity: Option<&Pair>,
    ) -> Result<Tenantry, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca))
            .domain_name("localhost");
        if let Some(pair) = identity {
            tls = tls.identity(Identity::from_pem(&pair.cert, &pair.key));
        }
        let channel = Endpoint::from_shared(self.https_url())?
            .tls_config(tls)?
            .connect()
            .await?;
        Ok(Tenantry::from_channel(channel).with_retry(RetryPolicy::none()))
    }
}
