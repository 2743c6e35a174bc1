//! The DNS cutover against an in-process Sandbox: its DNS server is the authoritative view.
//! All DNS traffic goes to the Sandbox's server on 127.0.0.1.

use std::time::Duration;

use cutover_core::context::Connection;
use cutover_core::dns::{self, ChangeAction, RecordChange, RecordValue, VerifyOptions};
use cutover_core::ErrorCode;
use cutover_sandbox::{Sandbox, SandboxOptions, DOMAIN, LB_SHOP_ID, WEB_1};

async fn sandbox() -> cutover_sandbox::SandboxHandle {
    Sandbox::start(SandboxOptions {
        activation_delay: Duration::ZERO,
        busy_window: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await
    .unwrap()
}

fn quick_verify() -> VerifyOptions {
    VerifyOptions {
        timeout: Duration::from_secs(5),
        interval: Duration::from_millis(50),
        ..VerifyOptions::default()
    }
}

fn apex_a(status: &dns::DnsStatus) -> Vec<String> {
    status.names[0]
        .authoritative
        .iter()
        .filter(|a| a.kind == "A")
        .map(|a| a.data.clone())
        .collect()
}

#[tokio::test]
async fn apply_verify_rollback_against_the_sandbox_dns() {
    cutover_core::init_tls();
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    let ns = Some(sb.dns_addr());
    let dir = tempfile::tempdir().unwrap();
    let lb = conn.client.get_load_balancer(LB_SHOP_ID).await.unwrap();
    let lb_ip = lb.ip.parse().unwrap();

    let before = dns::status(&conn, DOMAIN, &[lb_ip], ns).await.unwrap();
    assert!(before.hosted_at_digitalocean);
    assert_eq!(apex_a(&before), ["127.0.0.11"]);
    assert!(!before.names[0].points_to_lb);
    assert!(
        before.names[1].system_error.is_some(),
        "no system resolver for the Sandbox"
    );

    let plan = dns::plan_for(&conn, DOMAIN, LB_SHOP_ID, &[], Some(60))
        .await
        .unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert!(plan.ttl_step.is_some(), "the seeded TTL is 3600");

    let applied = dns::apply(&conn, &plan, dir.path()).await.unwrap();
    assert_eq!(applied.applied.len(), 1);
    assert!(dns::load_rollback(dir.path(), DOMAIN).unwrap().is_some());

    let after = dns::status(&conn, DOMAIN, &[lb_ip], ns).await.unwrap();
    assert_eq!(apex_a(&after), vec![lb.ip.clone()]);
    assert!(
        after.names.iter().all(|n| n.points_to_lb),
        "www follows the apex"
    );

    // Verify: DNS first; for the Sandbox the HTTPS step is skipped unless told where to go.
    let mut polls = 0;
    let v = dns::verify(&conn, &plan, ns, &quick_verify(), |_| polls += 1)
        .await
        .unwrap();
    assert!(v.dns_ok, "{}", v.message);
    assert!(polls >= 1);
    assert!(v.https.is_none() && v.https_skipped.is_some());
    // The shop load balancer passes TLS through to web-1..3: ask web-1's real address.
    assert_eq!(
        dns::sandbox_https_addr(&conn, LB_SHOP_ID).await,
        sb.backend_addr(WEB_1, 443),
        "a passthrough LB's first droplet stands in for the Sandbox LB's IP"
    );
    let opts = VerifyOptions {
        https_addr: sb.backend_addr(WEB_1, 443),
        ca_pem: Some(sb.ca_pem().to_string()),
        ..quick_verify()
    };
    let v = dns::verify(&conn, &plan, ns, &opts, |_| {}).await.unwrap();
    let https = v.https.unwrap();
    assert!(https.ok, "{https:?}");
    assert_eq!(https.status, Some(200));
    let served = https.certificate.expect("the served certificate");
    assert!(
        served.sans.iter().any(|n| n == DOMAIN),
        "web-1 serves the shop's certificate: {:?}",
        served.sans
    );

    let writes = dns::rollback_from_dir(&conn, DOMAIN, dir.path())
        .await
        .unwrap();
    assert_eq!(writes, 1);
    let back = dns::status(&conn, DOMAIN, &[lb_ip], ns).await.unwrap();
    assert_eq!(apex_a(&back), ["127.0.0.11"]);
    assert!(dns::load_rollback(dir.path(), DOMAIN).unwrap().is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_refused_change_rolls_back_the_earlier_ones() {
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut plan = dns::plan_for(&conn, DOMAIN, LB_SHOP_ID, &[], Some(60))
        .await
        .unwrap();
    // A second change the API refuses (422: not an IPv4 address).
    plan.changes.push(RecordChange {
        name: "broken".into(),
        action: ChangeAction::Create,
        record_id: None,
        before: None,
        after: Some(RecordValue {
            kind: "A".into(),
            data: "not-an-ip".into(),
            ttl: 60,
        }),
    });
    let err = dns::apply(&conn, &plan, dir.path()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("rolled back"), "{}", err.message);
    let status = dns::status(&conn, DOMAIN, &[], Some(sb.dns_addr()))
        .await
        .unwrap();
    assert_eq!(apex_a(&status), ["127.0.0.11"], "nothing half-applied");
    assert!(
        dns::load_rollback(dir.path(), DOMAIN).unwrap().is_none(),
        "nothing to roll back: no rollback file is left"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn verify_times_out_and_keeps_the_change() {
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    // Planned but never applied: the nameservers keep answering the old address.
    let plan = dns::plan_for(&conn, DOMAIN, LB_SHOP_ID, &[], None)
        .await
        .unwrap();
    let opts = VerifyOptions {
        timeout: Duration::ZERO,
        ..quick_verify()
    };
    let v = dns::verify(&conn, &plan, Some(sb.dns_addr()), &opts, |_| {})
        .await
        .unwrap();
    assert!(!v.dns_ok);
    assert!(v.message.contains("roll back"), "{}", v.message);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_domain_not_in_the_account_changes_nothing() {
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let status = dns::status(&conn, "not-mine.test", &[], Some(sb.dns_addr()))
        .await
        .unwrap();
    assert!(!status.hosted_at_digitalocean);
    let plan = dns::plan_for(&conn, "not-mine.test", LB_SHOP_ID, &[], None)
        .await
        .unwrap();
    assert_eq!(
        plan.provider_records.len(),
        2,
        "records to set at the provider"
    );
    let err = dns::apply(&conn, &plan, dir.path()).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(
        err.message.contains("nothing was changed"),
        "{}",
        err.message
    );
    assert!(dns::load_rollback(dir.path(), "not-mine.test")
        .unwrap()
        .is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn readiness_on_the_sandbox_flags_web_3_until_fixed() {
    cutover_core::init_tls();
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    let get =
        |items: &[dns::ReadinessItem], id: &str| items.iter().find(|i| i.id == id).unwrap().ok;
    let items = dns::readiness(&conn, DOMAIN, LB_SHOP_ID, None, None, None)
        .await
        .unwrap();
    assert!(get(&items, "lb_active"));
    assert!(get(&items, "rules_serve_domain"));
    assert!(!get(&items, "certificates"), "web-3's odd certificate");
    assert!(!get(&items, "ttl"), "the seeded TTL is 3600");
    sb.fix_droplet_certificate(cutover_sandbox::WEB_3)
        .await
        .unwrap();
    let items = dns::readiness(&conn, DOMAIN, LB_SHOP_ID, None, None, None)
        .await
        .unwrap();
    assert!(get(&items, "certificates"), "{items:?}");
    sb.shutdown().await;
}

/// A dual-stack load balancer: a name points at it only when both its A and its AAAA answer the
/// load balancer (status and verify), and verify names the family still missing.
#[tokio::test]
async fn dual_stack_status_and_verify_need_both_families() {
    use cutover_sandbox::{DUAL_DOMAIN, LB_DUAL_ID, LB_DUAL_IPV6};
    cutover_core::init_tls();
    let sb = sandbox().await;
    let conn = Connection::for_sandbox(&sb).unwrap();
    let ns = Some(sb.dns_addr());
    let dir = tempfile::tempdir().unwrap();
    let ips = dns::lb_addresses(&conn, LB_DUAL_ID).await.unwrap();
    assert_eq!(ips.len(), 2, "{ips:?}");
    assert_eq!(ips[1].to_string(), LB_DUAL_IPV6);

    let plan = dns::plan_for(&conn, DUAL_DOMAIN, LB_DUAL_ID, &["@".to_string()], Some(60))
        .await
        .unwrap();
    dns::apply(&conn, &plan, dir.path()).await.unwrap();
    let after = dns::status(&conn, DUAL_DOMAIN, &ips, ns).await.unwrap();
    assert!(after.names[0].points_to_lb, "{:?}", after.names[0]);

    // The AAAA moved elsewhere behind the app's back: the A alone is not "pointing at it".
    let records = conn.client.list_domain_records(DUAL_DOMAIN).await.unwrap();
    let aaaa = records
        .iter()
        .find(|r| r.kind == "AAAA" && r.name == "@")
        .expect("the apex AAAA");
    conn.client
        .update_domain_record(
            DUAL_DOMAIN,
            aaaa.id,
            &cutover_digitalocean::DomainRecordRequest::simple("AAAA", "@", "2001:db8:ffff::1"),
        )
        .await
        .unwrap();
    let moved = dns::status(&conn, DUAL_DOMAIN, &ips, ns).await.unwrap();
    assert!(!moved.names[0].points_to_lb, "{:?}", moved.names[0]);
    let only_v4 = dns::status(&conn, DUAL_DOMAIN, &ips[..1], ns)
        .await
        .unwrap();
    assert!(
        only_v4.names[0].points_to_lb,
        "the A still answers the IPv4"
    );

    let verify = dns::verify(
        &conn,
        &plan,
        ns,
        &VerifyOptions {
            timeout: Duration::from_millis(200),
            interval: Duration::from_millis(50),
            ..VerifyOptions::default()
        },
        |_| {},
    )
    .await
    .unwrap();
    assert!(!verify.dns_ok);
    assert!(
        verify.message.contains(&format!("AAAA {LB_DUAL_IPV6}"))
            && !verify.message.contains(" A 127."),
        "{}",
        verify.message
    );
    sb.shutdown().await;
}
