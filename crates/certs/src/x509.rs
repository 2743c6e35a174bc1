//! Certificate details from DER, via x509-parser.

use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::model::CertInfo;

/// Read what a person (and the checks) need from one certificate. Never fails: an unreadable
/// certificate still gets its fingerprint and PEM, with `parse_error` set.
pub fn cert_info(der: &[u8]) -> CertInfo {
    let mut info = CertInfo {
        sha256: hex::encode(Sha256::digest(der)),
        pem: to_pem(der),
        ..CertInfo::default()
    };
    let cert = match X509Certificate::from_der(der) {
        Ok((_, cert)) => cert,
        Err(err) => {
            info.parse_error = Some(format!("not a readable X.509 certificate: {err}"));
            return info;
        }
    };
    info.subject = cert.subject().to_string();
    info.issuer = cert.issuer().to_string();
    info.serial = cert.raw_serial_as_string();
    let validity = cert.validity();
    info.not_before_unix = validity.not_before.timestamp();
    info.not_after_unix = validity.not_after.timestamp();
    info.not_before = validity
        .not_before
        .to_datetime()
        .format(&Rfc3339)
        .unwrap_or_default();
    info.not_after = validity
        .not_after
        .to_datetime()
        .format(&Rfc3339)
        .unwrap_or_default();
    info.is_ca = cert.is_ca();

    for ext in cert.iter_extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(dns) => info.sans.push(dns.to_string()),
                        GeneralName::IPAddress(bytes) => {
                            if let Some(ip) = ip_from_bytes(bytes) {
                                info.ip_sans.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::SubjectKeyIdentifier(kid) => {
                info.subject_key_id = Some(hex::encode(kid.0));
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                info.authority_key_id = aki.key_identifier.as_ref().map(|k| hex::encode(k.0));
            }
            _ => {}
        }
    }

    let spki = cert.public_key();
    let alg_oid = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            info.key_type = "RSA".into();
            info.key_bits = rsa.key_size() as u32;
        }
        Ok(PublicKey::EC(point)) => {
            info.key_type = "EC".into();
            info.key_bits = point.key_size() as u32;
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string());
            info.curve = curve.map(|oid| curve_name(&oid).unwrap_or(&oid).to_string());
        }
        Ok(PublicKey::DSA(y)) => {
            info.key_type = "DSA".into();
            info.key_bits = (y.len() * 8) as u32;
        }
        Ok(other) => {
            let (name, bits) = match alg_oid.as_str() {
                "1.3.101.112" => ("Ed25519", 256),
                "1.3.101.113" => ("Ed448", 456),
                _ => (alg_oid.as_str(), other.key_size() as u32),
            };
            info.key_type = name.to_string();
            info.key_bits = bits;
        }
        Err(_) => {
            info.key_type = alg_oid;
        }
    }

    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    info.signature_algorithm = signature_name(&sig_oid).unwrap_or(&sig_oid).to_string();

    // Self-signed means "signed by its own key", not merely "subject == issuer": verify it.
    // An algorithm x509-parser cannot verify (e.g. SHA-1 RSA) falls back to the name comparison.
    if cert.subject().as_raw() == cert.issuer().as_raw() {
        info.self_signed = match cert.verify_signature(None) {
            Ok(()) => true,
            Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => true,
            Err(_) => false,
        };
    }
    info
}

/// True when `sig_algorithm` is one no CA should use any more (MD2, MD5, SHA-1).
pub fn is_weak_signature(sig_algorithm: &str) -> bool {
    matches!(
        sig_algorithm,
        "md2WithRSAEncryption"
            | "md5WithRSAEncryption"
            | "sha1WithRSAEncryption"
            | "ecdsa-with-SHA1"
            | "dsa-with-SHA1"
    )
}

fn signature_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-SHA1",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        _ => return None,
    })
}

fn curve_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        "1.2.840.10045.3.1.1" => "P-192",
        "1.3.132.0.33" => "P-224",
        _ => return None,
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => {
            let arr: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::IpAddr::from(arr))
        }
        16 => {
            let arr: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::IpAddr::from(arr))
        }
        _ => None,
    }
}

/// PEM by hand: it is base64 with a header, and pulling in a PEM writer for 10 lines is not worth it.
fn to_pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    let bytes = b64.as_bytes();
    for line in bytes.chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gets_a_fingerprint_and_a_parse_error() {
        let info = cert_info(b"definitely not DER");
        assert!(info.parse_error.is_some());
        assert_eq!(info.sha256.len(), 64);
    }

    #[test]
    fn pem_round_trips_through_rustls_pemfile() {
        let der: Vec<u8> = (0u8..=200).collect();
        let pem = to_pem(&der);
        let mut reader = std::io::BufReader::new(pem.as_bytes());
        let certs: Vec<_> = rustls_pemfile::certs(&mut reader)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(certs.len(), 1);
        assert_eq!(certs[0].as_ref(), der.as_slice());
    }

    #[test]
    fn weak_signatures_are_sha1_and_md5_only() {
        assert!(is_weak_signature("sha1WithRSAEncryption"));
        assert!(is_weak_signature("md5WithRSAEncryption"));
        assert!(!is_weak_signature("sha256WithRSAEncryption"));
        assert!(!is_weak_signature("ecdsa-with-SHA256"));
    }
}
