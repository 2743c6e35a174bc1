//! The sandbox's own certificate authority and the leaf certificates its droplets serve.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::SandboxError;

/// Common name of the sandbox CA, as seen in every droplet certificate's issuer.
pub const CA_NAME: &str = "Cutover Sandbox CA";

/// A CA made fresh on every start (its key never leaves memory).
pub struct SandboxCa {
    cert: rcgen::Certificate,
    key: KeyPair,
    pem: String,
}

/// A leaf certificate and its key, ready for rustls.
#[derive(Clone)]
pub struct LeafCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: CertificateDer<'static>,
    key_der: Arc<Vec<u8>>,
    pub not_after: OffsetDateTime,
    pub dns_names: Vec<String>,
    /// Lowercase hex SHA-1 of the DER certificate, as the API's `sha1_fingerprint`.
    pub sha1_fingerprint: String,
}

impl LeafCert {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.as_ref().clone()))
    }
}

fn cert_err(err: rcgen::Error) -> SandboxError {
    SandboxError::Certificate(err.to_string())
}

impl SandboxCa {
    pub fn new() -> Result<Self, SandboxError> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, CA_NAME);
        dn.push(DnType::OrganizationName, "Cutover Sandbox");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate().map_err(cert_err)?;
        let cert = params.self_signed(&key).map_err(cert_err)?;
        let pem = cert.pem();
        Ok(Self { cert, key, pem })
    }

    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    /// Issues a server certificate for `dns_names`, valid from yesterday for `valid_for`.
    pub fn issue(&self, dns_names: &[&str], valid_for: Duration) -> Result<LeafCert, SandboxError> {
        let names: Vec<String> = dns_names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).map_err(cert_err)?;
        let mut dn = DistinguishedName::new();
        if let Some(first) = dns_names.first() {
            dn.push(DnType::CommonName, *first);
        }
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + valid_for;
        let not_after = params.not_after;
        // A random serial: two leaves for the same names must still differ.
        let serial: [u8; 16] = rand::random();
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial[..]));
        let key = KeyPair::generate().map_err(cert_err)?;
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .map_err(cert_err)?;
        let cert_der = cert.der().clone();
        Ok(LeafCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            sha1_fingerprint: sha1_hex(cert_der.as_ref()),
            cert_der,
            key_der: Arc::new(key.serialize_der()),
            // The encoded time has whole seconds only.
            not_after: not_after.replace_nanosecond(0).unwrap_or(not_after),
            dns_names: names,
        })
    }
}

pub fn sha1_hex(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_is_signed_by_the_ca_and_names_the_domain() {
        let ca = SandboxCa::new().unwrap();
        let leaf = ca
            .issue(
                &["sandbox-shop.test", "*.sandbox-shop.test"],
                Duration::days(3),
            )
            .unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(leaf.cert_der.as_ref()).unwrap();
        assert!(parsed.issuer().to_string().contains(CA_NAME));
        let left = parsed.validity().time_to_expiration().unwrap();
        assert!(left <= Duration::days(3) && left > Duration::days(2));
        assert_eq!(leaf.sha1_fingerprint.len(), 40);
        let other = ca.issue(&["sandbox-shop.test"], Duration::days(3)).unwrap();
        assert_ne!(other.sha1_fingerprint, leaf.sha1_fingerprint);
    }
}
