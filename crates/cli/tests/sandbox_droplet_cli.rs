//! `cutover sandbox droplet stop|start`: what it refuses and how it says so — a droplet name
//! the Sandbox does not have, an API base that is not a Sandbox (a loopback server answering 404
//! to `/_sandbox/...`, DigitalOcean's own API), and no running Sandbox named at all. The stop →
//! `lb health` exit 1 → start → exit 0 journey is in `lb_health_power_cli.rs`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use support::{cutover, run, standalone, Standalone};

fn on(sb: &Standalone) -> Command {
    let mut cmd = cutover();
    cmd.env("DIGITALOCEAN_ACCESS_TOKEN", &sb.token)
        .args(["--api-base", &sb.api_base]);
    cmd
}

#[test]
fn an_unknown_droplet_is_named_and_exits_non_zero_in_text_and_json() {
    let sb = standalone();
    let out = on(&sb)
        .args(["sandbox", "droplet", "stop", "web-9"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "No droplet has the id or name \"web-9\" at {}.",
            sb.api_base
        )),
        "{stderr}"
    );
    assert!(stderr.contains("web-1, web-2, web-3"), "{stderr}");

    let (code, report, stderr) =
        run(on(&sb).args(["--json", "sandbox", "droplet", "start", "web-9"]));
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(report["error"]["code"], "not_found", "{report}");
    assert_eq!(report["error"]["details"]["droplet"], "web-9", "{report}");

    // The droplets are as they were: stopping web-2 still changes it.
    let (code, report, stderr) =
        run(on(&sb).args(["--json", "sandbox", "droplet", "stop", "web-2"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["changed"], true);
    // Once more: already off, still exit 0, and said so.
    let out = on(&sb)
        .args(["sandbox", "droplet", "stop", "web-2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "web-2 (id 510000102) was already off: its ports refuse connections until started."
        ),
        "{text}"
    );
}

/// A loopback HTTP server answering 404 to everything: an API that is not a Sandbox. Counts the
/// requests whose path starts with `/_sandbox/droplets` (the power endpoint), to show none came.
fn not_a_sandbox() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let power_posts = Arc::new(AtomicUsize::new(0));
    let seen = power_posts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            if request_line.contains(" /_sandbox/droplets") {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            // The headers (the bodies of a GET are empty).
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = r#"{"id":"not_found","message":"The resource you were accessing could not be found."}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (base, power_posts)
}

#[test]
fn an_api_base_that_is_not_a_sandbox_is_refused_saying_why() {
    let (base, power_posts) = not_a_sandbox();
    let out = cutover()
        .env("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_test")
        .args(["--api-base", &base, "sandbox", "droplet", "stop", "web-2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{base} is not a Sandbox (its /_sandbox endpoints do not answer): powering droplets off and on exists only on the Sandbox."
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("control panel or `doctl compute droplet-action power-off <droplet-id>`"),
        "{stderr}"
    );
    assert_eq!(power_posts.load(Ordering::SeqCst), 0);
    assert!(out.stdout.is_empty());
}

#[test]
fn digitalocean_itself_is_refused_before_any_request() {
    // DigitalOcean's own base: the refusal comes before any request (nothing leaves this machine).
    let (code, report, stderr) = run(cutover()
        .env("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_test")
        .args([
            "--api-base",
            "https://api.digitalocean.com",
            "--json",
            "sandbox",
            "droplet",
            "start",
            "web-2",
        ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("https://api.digitalocean.com is DigitalOcean's own API: powering droplets off and on exists only on the Sandbox."),
        "{stderr}"
    );
    assert!(
        stderr.contains("doctl compute droplet-action power-on"),
        "{stderr}"
    );
    assert_eq!(report["error"]["code"], "invalid_input", "{report}");
    assert_eq!(report["error"]["details"]["sandbox"], false, "{report}");
}

#[test]
fn with_no_sandbox_named_it_says_how_to_point_at_one() {
    let out = cutover()
        .args(["sandbox", "droplet", "stop", "web-2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("No running Sandbox was named"), "{stderr}");
    assert!(stderr.contains("`cutover sandbox serve`"), "{stderr}");
    // Refused before a Sandbox of the run's own was started (it says "cutover: using …").
    assert!(!stderr.contains("cutover: using"), "{stderr}");
    assert!(out.stdout.is_empty());
}
