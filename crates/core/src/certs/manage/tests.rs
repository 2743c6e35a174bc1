//! Upload checks on generated chains (rcgen), and create / delete / rotate against the Sandbox.

use super::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

/// A root, an intermediate under it, and a leaf under that.
struct Pki {
    root_pem: String,
    int_pem: String,
    leaf_pem: String,
    key_pem: String,
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

fn pki(names: &[&str], expired: bool) -> Pki {
    let root_key = KeyPair::generate().unwrap();
    let root = ca_params("Cutover Test Root")
        .self_signed(&root_key)
        .unwrap();
    let int_key = KeyPair::generate().unwrap();
    let int = ca_params("Cutover Test Intermediate")
        .signed_by(&int_key, &root, &root_key)
        .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    if expired {
        p.not_before = now - time::Duration::days(400);
        p.not_after = now - time::Duration::days(10);
    } else {
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(90);
    }
    let leaf = p.signed_by(&leaf_key, &int, &int_key).unwrap();
    Pki {
        root_pem: root.pem(),
        int_pem: int.pem(),
        leaf_pem: leaf.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn input(p: &Pki, name: &str) -> UploadInput {
    UploadInput {
        name: name.into(),
        leaf_pem: p.leaf_pem.clone(),
        key_pem: p.key_pem.clone(),
        chain_pem: Some(p.int_pem.clone()),
        ca_pem: Some(p.root_pem.clone()),
        ..Default::default()
    }
}

fn codes(check: &UploadCheck) -> Vec<(&str, bool)> {
    check
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.blocks))
        .collect()
}

#[tokio::test]
async fn a_good_chain_passes_and_a_fullchain_leaf_file_is_split() {
    let p = pki(&["shop.test", "www.shop.test"], false);
    let check = check_upload(&input(&p, "shop-2026"), None).await.unwrap();
    assert!(check.ok, "{:#?}", check.findings);
    assert_eq!(check.chain.len(), 2);
    assert_eq!(check.names_checked, vec!["shop.test", "www.shop.test"]);

    // fullchain.pem as the certificate, no chain file: the same two certificates.
    let full = UploadInput {
        leaf_pem: format!("{}{}", p.leaf_pem, p.int_pem),
        chain_pem: None,
        ..input(&p, "shop-full")
    };
    let check = check_upload(&full, None).await.unwrap();
    assert!(check.ok, "{:#?}", check.findings);
    assert!(codes(&check).contains(&("upload.leaf_file_has_chain", false)));
    let mut findings = Vec::new();
    let parsed = parse(&full, &mut findings).unwrap();
    assert_eq!(parsed.leaf_pem.trim(), p.leaf_pem.trim());
    assert_eq!(parsed.chain_pem.unwrap().trim(), p.int_pem.trim());
}

#[tokio::test]
async fn a_key_of_another_certificate_is_refused() {
    let p = pki(&["shop.test"], false);
    let other = pki(&["shop.test"], false);
    let wrong = UploadInput {
        key_pem: other.key_pem.clone(),
        ..input(&p, "shop")
    };
    let check = check_upload(&wrong, None).await.unwrap();
    assert!(!check.ok);
    assert!(
        check.findings.iter().any(|f| f.blocks
            && (f.code == "upload.key_mismatch" || f.code == "backend.handshake_failed")),
        "{:#?}",
        check.findings
    );
    // The key never appears in what is returned.
    let text = serde_json::to_string(&check).unwrap();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
}

#[tokio::test]
async fn expired_misordered_incomplete_and_wrong_names_are_refused() {
    let p = pki(&["shop.test"], true);
    let check = check_upload(&input(&p, "old"), None).await.unwrap();
    assert!(
        codes(&check).contains(&("cert.expired", true)),
        "{:#?}",
        check.findings
    );

    // The chain file with the root before the intermediate: out of order.
    let p = pki(&["shop.test"], false);
    let misordered = UploadInput {
        chain_pem: Some(format!("{}{}", p.root_pem, p.int_pem)),
        ..input(&p, "misordered")
    };
    let check = check_upload(&misordered, None).await.unwrap();
    assert!(
        codes(&check).contains(&("chain.order", true)),
        "{:#?}",
        check.findings
    );

    // No chain at all: the intermediate is missing.
    let incomplete = UploadInput {
        chain_pem: None,
        ..input(&p, "incomplete")
    };
    let check = check_upload(&incomplete, None).await.unwrap();
    assert!(!check.ok);
    assert!(
        codes(&check).contains(&("chain.incomplete", true)),
        "{:#?}",
        check.findings
    );

    // Names the rotation needs that the certificate does not cover.
    let names = UploadInput {
        domains: vec!["shop.test".into(), "api.shop.test".into()],
        ..input(&p, "names")
    };
    let check = check_upload(&names, None).await.unwrap();
    assert!(!check.ok);
    let f = check
        .findings
        .iter()
        .find(|f| f.code == "cert.name_mismatch")
        .unwrap();
    assert!(f.message.contains("api.shop.test"), "{}", f.message);

    // Untrusted (no CA given) blocks, unless the user stands by the private CA.
    let untrusted = UploadInput {
        ca_pem: None,
        ..input(&p, "private")
    };
    assert!(!check_upload(&untrusted, None).await.unwrap().ok);
    let allowed = UploadInput {
        allow_untrusted: true,
        ..untrusted
    };
    let check = check_upload(&allowed, None).await.unwrap();
    assert!(check.ok, "{:#?}", check.findings);
}

#[tokio::test]
async fn unreadable_files_are_findings_and_the_key_is_redacted_in_debug() {
    let p = pki(&["shop.test"], false);
    let bad = UploadInput {
        key_pem: "not a key".into(),
        leaf_pem: "hello".into(),
        ..input(&p, "bad")
    };
    let check = check_upload(&bad, None).await.unwrap();
    let c = codes(&check);
    assert!(c.contains(&("upload.no_certificate", true)), "{c:?}");
    assert!(c.contains(&("upload.key_unreadable", true)), "{c:?}");
    let debug = format!("{:?}", input(&p, "x"));
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    assert!(debug.contains("[REDACTED]"));
    let err = check_upload(&UploadInput::default(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
}

async fn sandbox() -> (cutover_sandbox::SandboxHandle, Connection) {
    let sandbox = cutover_sandbox::Sandbox::start(cutover_sandbox::SandboxOptions {
        activation_delay: Duration::from_millis(300),
        busy_window: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let conn = Connection::for_sandbox(&sandbox).unwrap();
    (sandbox, conn)
}

fn fast() -> VerifyWait {
    VerifyWait {
        poll: Duration::from_millis(100),
        timeout: Duration::from_secs(30),
    }
}

#[tokio::test]
async fn an_upload_is_sent_only_when_the_check_passes() {
    let (sandbox, conn) = sandbox().await;
    let before = conn.client.list_certificates().await.unwrap().len();
    let p = pki(&["shop.test"], true);
    let err = upload(&conn, &input(&p, "expired")).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.message.starts_with("Not sent to DigitalOcean"),
        "{}",
        err.message
    );
    assert_eq!(conn.client.list_certificates().await.unwrap().len(), before);

    let p = pki(&["shop.test"], false);
    let (check, created) = upload(&conn, &input(&p, "shop-2026")).await.unwrap();
    assert!(check.ok);
    assert_eq!(created.name, "shop-2026");
    assert_eq!(created.kind, "custom");
    assert_eq!(created.names().collect::<Vec<_>>(), vec!["shop.test"]);
    let le = create_lets_encrypt(&conn, "le-new", &["Shop.Test.".into()])
        .await
        .unwrap();
    assert_eq!(le.kind, "lets_encrypt");
    assert_eq!(le.dns_names, vec!["shop.test"]);
    let err = create_lets_encrypt(&conn, "le-none", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    sandbox.shutdown().await;
}

/// The acceptance path: DigitalOcean refuses to delete a certificate in use (with who uses
/// it), then the rotation moves the load balancer to the new one and deletes the old.
#[tokio::test]
async fn in_use_is_refused_then_a_rotation_completes() {
    let (sandbox, conn) = sandbox().await;
    let err = delete_certificate(&conn, "blog-le").await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Forbidden);
    assert!(
        err.message.contains("in use by blog-https"),
        "{}",
        err.message
    );
    assert_eq!(err.details.as_ref().unwrap()["in_use"], true);

    // The last step alone, while the certificate is still in use: kept, and said so.
    let mut outcome = RotateOutcome {
        complete: false,
        new_certificate: None,
        created: false,
        load_balancers: Vec::new(),
        old_deleted: false,
        old_kept_because: None,
        left: Vec::new(),
    };
    delete_old(
        &conn,
        cutover_sandbox::CERT_BLOG_LE_ID,
        "blog-le",
        "blog-le-2",
        &mut outcome,
    )
    .await;
    assert!(!outcome.old_deleted);
    assert!(outcome.left[0].contains("blog-https"), "{:?}", outcome.left);

    let input = RotateInput {
        old: "blog-le".into(),
        new: NewCertificate::LetsEncrypt {
            name: "blog-le-2".into(),
            dns_names: vec![],
        },
        override_kubernetes: false,
    };
    let plan = plan_rotate(&conn, &input).await.unwrap();
    assert!(plan.blockers.is_empty(), "{:?}", plan.blockers);
    let names: Vec<&str> = plan.targets.iter().map(|t| t.lb_name.as_str()).collect();
    assert_eq!(names, vec!["blog-https"]);
    assert_eq!(plan.steps.len(), 3, "{:?}", plan.steps);

    let mut steps = Vec::new();
    let outcome = rotate(&conn, &input, fast(), |p| steps.push(p.step))
        .await
        .unwrap();
    assert!(outcome.complete, "{outcome:#?}");
    assert!(outcome.old_deleted);
    assert!(steps.contains(&"verify".to_string()), "{steps:?}");
    let new = outcome.new_certificate.unwrap();
    assert_eq!(new.state, "verified");
    let blog = crate::lb::find(&conn, "blog-https").await.unwrap();
    assert!(blog
        .forwarding_rules
        .iter()
        .any(|r| r.certificate() == Some(new.id.as_str())));
    assert!(find_certificate(&conn, "blog-le").await.is_err());
    sandbox.shutdown().await;
}

/// A global load balancer's domain keeps the old certificate in use: the rotation stops before
/// the delete, keeps the new certificate and says what is left.
#[tokio::test]
async fn a_glb_domain_keeps_the_old_certificate_and_the_rotation_says_so() {
    let (sandbox, conn) = sandbox().await;
    let old = conn
        .client
        .get_certificate(cutover_sandbox::CERT_WORLD_LE_ID)
        .await
        .unwrap();
    let input = RotateInput {
        old: old.name.clone(),
        new: NewCertificate::LetsEncrypt {
            name: "world-2".into(),
            dns_names: vec![],
        },
        override_kubernetes: false,
    };
    let plan = plan_rotate(&conn, &input).await.unwrap();
    assert_eq!(plan.warnings.len(), 1, "{:?}", plan.warnings);
    let outcome = rotate(&conn, &input, fast(), |_| {}).await.unwrap();
    assert!(!outcome.complete);
    assert!(!outcome.old_deleted);
    assert!(
        outcome
            .left
            .iter()
            .any(|l| l.contains("global load balancer")),
        "{:?}",
        outcome.left
    );
    // Nothing lost: the new certificate stays, the old one too.
    assert!(find_certificate(&conn, "world-2").await.is_ok());
    assert!(find_certificate(&conn, &old.name).await.is_ok());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_rotation_with_a_blocker_changes_nothing() {
    let (sandbox, conn) = sandbox().await;
    let before = conn.client.list_certificates().await.unwrap().len();
    // The new name is taken, and an upload that does not cover the old names is refused.
    let p = pki(&["elsewhere.test"], false);
    for new in [
        NewCertificate::LetsEncrypt {
            name: "shop-wildcard".into(),
            dns_names: vec![],
        },
        NewCertificate::Upload(input(&p, "blog-2")),
        NewCertificate::Existing {
            name: "nope".into(),
        },
    ] {
        let input = RotateInput {
            old: "blog-le".into(),
            new,
            override_kubernetes: false,
        };
        let err = rotate(&conn, &input, fast(), |_| {}).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "{}", err.message);
        assert!(
            err.message.starts_with("Nothing was changed"),
            "{}",
            err.message
        );
    }
    assert_eq!(conn.client.list_certificates().await.unwrap().len(), before);
    sandbox.shutdown().await;
}

/// Everything logged while a key is checked, uploaded and refused, at every level: the key's
/// text appears nowhere (not in the logs, the answers or the errors).
#[tokio::test]
async fn the_private_key_is_never_logged_or_returned() {
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (sandbox, conn) = sandbox().await;
    let p = pki(&["shop.test"], false);
    let key_body: String = p.key_pem.lines().nth(1).unwrap().to_string();
    let (check, created) = upload(&conn, &input(&p, "logged")).await.unwrap();
    let refused = upload(
        &conn,
        &UploadInput {
            leaf_pem: pki(&["shop.test"], true).leaf_pem,
            ..input(&p, "refused")
        },
    )
    .await
    .unwrap_err();
    let _ = format!("{:?}", input(&p, "debugged"));
    sandbox.shutdown().await;
    let logged = String::from_utf8_lossy(&sink.0.lock().unwrap()).to_string();
    assert!(
        logged.contains("uploading a custom certificate"),
        "{logged}"
    );
    for text in [
        logged,
        serde_json::to_string(&check).unwrap(),
        serde_json::to_string(&created).unwrap(),
        serde_json::to_string(&refused).unwrap(),
    ] {
        assert!(!text.contains(&key_body), "the key leaked: {text}");
        assert!(!text.contains("PRIVATE KEY-----"), "{text}");
    }
}

/// A rotation to an uploaded certificate: checked against the old one's names, uploaded, the
/// rule repointed, the old one deleted.
#[tokio::test]
async fn a_rotation_to_an_upload_completes() {
    let (sandbox, conn) = sandbox().await;
    let p = pki(&["blog.sandbox-shop.test"], false);
    let input = RotateInput {
        old: "blog-le".into(),
        new: NewCertificate::Upload(input(&p, "blog-custom")),
        override_kubernetes: false,
    };
    let plan = plan_rotate(&conn, &input).await.unwrap();
    let check = plan.upload_check.as_ref().unwrap();
    assert_eq!(check.names_checked, vec!["blog.sandbox-shop.test"]);
    assert!(check.ok, "{:#?}", check.findings);
    let outcome = rotate(&conn, &input, fast(), |_| {}).await.unwrap();
    assert!(outcome.complete, "{outcome:#?}");
    let new = outcome.new_certificate.unwrap();
    assert_eq!(new.kind, "custom");
    let blog = crate::lb::find(&conn, "blog-https").await.unwrap();
    sandbox.shutdown().await;
    assert!(blog
        .forwarding_rules
        .iter()
        .any(|r| r.certificate() == Some(new.id.as_str())));
}

fn is_request_id(id: &str) -> bool {
    // The Sandbox, like DigitalOcean, sends a uuid per answer.
    id.len() == 36 && id.matches('-').count() == 4
}

/// Issue 16: every certificate change is in the journal, before and after, with DigitalOcean's
/// request id: creates (Let's Encrypt and upload, by name, type and names, never the key),
/// deletes (a refused one too, with its refusal's id), and a rotation as its steps.
#[tokio::test]
async fn certificate_changes_are_journaled_with_request_ids_and_never_the_key() {
    let (sandbox, mut conn) = sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    conn.journal = Some(crate::journal::Journal::in_dir(dir.path()));
    conn.account_name = "sandbox".into();
    let journal = conn.journal.clone().unwrap();
    use crate::journal::{ChangeKind, EntryStatus};

    let p = pki(&["shop.test"], false);
    let (_, uploaded) = upload(&conn, &input(&p, "shop-2026")).await.unwrap();
    let le = create_lets_encrypt(&conn, "le-new", &["shop.test".into()])
        .await
        .unwrap();
    delete_certificate(&conn, "shop-2026").await.unwrap();
    let refused = delete_certificate(&conn, "blog-le").await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    let input = RotateInput {
        old: "blog-le".into(),
        new: NewCertificate::LetsEncrypt {
            name: "blog-le-2".into(),
            dns_names: vec![],
        },
        override_kubernetes: false,
    };
    let outcome = rotate(&conn, &input, fast(), |_| {}).await.unwrap();
    assert!(outcome.complete, "{outcome:#?}");
    let rotated = outcome.new_certificate.unwrap();

    let entries = journal.entries().unwrap();
    let kinds: Vec<(ChangeKind, &str, EntryStatus)> = entries
        .iter()
        .map(|e| (e.kind, e.lb_name.as_str(), e.status))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (ChangeKind::CertCreate, "shop-2026", EntryStatus::Done),
            (ChangeKind::CertCreate, "le-new", EntryStatus::Done),
            (ChangeKind::CertDelete, "shop-2026", EntryStatus::Done),
            (ChangeKind::CertDelete, "blog-le", EntryStatus::Failed),
            // The rotation: create, the load balancer's edit, delete.
            (ChangeKind::CertCreate, "blog-le-2", EntryStatus::Done),
            (ChangeKind::Update, "blog-https", EntryStatus::Done),
            (ChangeKind::CertDelete, "blog-le", EntryStatus::Done),
        ],
        "{entries:#?}"
    );
    let mut ids = std::collections::HashSet::new();
    for e in &entries {
        let rid = e.request_id.as_deref().unwrap_or_default();
        assert!(is_request_id(rid), "{:?} has no request id: {e:#?}", e.kind);
        assert!(ids.insert(rid.to_string()), "one id per answer: {rid}");
    }
    // A create: its id and DigitalOcean's answer come after; its diff says what was asked.
    assert_eq!(entries[0].lb_id, uploaded.id);
    assert!(entries[0].before.is_none());
    assert_eq!(entries[0].after.as_ref().unwrap()["type"], "custom");
    let paths: Vec<&str> = entries[0].changes.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, vec!["name", "type", "dns_names"]);
    assert_eq!(entries[1].lb_id, le.id);
    assert_eq!(
        entries[1].changes[2].after,
        serde_json::json!(["shop.test"])
    );
    // A delete: the certificate before, nothing after.
    assert_eq!(entries[2].lb_id, uploaded.id);
    assert_eq!(entries[2].before.as_ref().unwrap()["name"], "shop-2026");
    assert!(entries[2].after.is_none());
    // The refused delete says why, with the refusal's request id.
    assert!(
        entries[3]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("in use by blog-https"),
        "{:?}",
        entries[3].error
    );
    assert_eq!(
        entries[3].request_id.as_deref(),
        refused.details.as_ref().unwrap()["request_id"].as_str()
    );
    // The rotation's delete names what replaced the old certificate.
    assert_eq!(entries[4].lb_id, rotated.id);
    let last = entries[6].changes.last().unwrap();
    assert_eq!(last.path, "rotated_to");
    assert_eq!(last.after, "blog-le-2");
    assert_eq!(entries[6].lb_id, cutover_sandbox::CERT_BLOG_LE_ID);
    // Certificate changes are not reverted by an edit.
    let blog = crate::lb::find(&conn, "blog-https").await.unwrap();
    let err = crate::journal::revert_edit(&entries[2], &blog).unwrap_err();
    assert!(err.message.contains("not an undo"), "{}", err.message);

    // The key went to DigitalOcean only: not a line of it in the journal.
    let text = std::fs::read_to_string(journal.path()).unwrap();
    assert!(!text.contains("PRIVATE KEY"));
    let key_body = p.key_pem.lines().nth(1).unwrap();
    assert!(!text.contains(key_body));
    sandbox.shutdown().await;
}
