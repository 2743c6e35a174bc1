//! `cutover balance` end to end: the listening line with the real port, one JSON line per event,
//! and a clean exit 0 with final stats on SIGTERM.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

#[test]
fn balance_prints_listen_line_events_and_stops_on_sigterm() {
    // A backend that answers anything with one line.
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let backend_addr = backend.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in backend.incoming() {
            let Ok(mut s) = stream else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"from backend\n");
        }
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(["balance", "--domain", "shop.test", "--backend"])
        .arg(backend_addr.to_string())
        .args(["--listen", "127.0.0.1:0", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Never hang CI: if the command is stuck, kill it so the reads below fail.
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(120));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let listen: std::net::SocketAddr = first["listen"].as_str().unwrap().parse().unwrap();
    assert_ne!(listen.port(), 0, "the real port is printed");

    let hello = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../balancer/testdata/curl.bin"
    ))
    .unwrap();
    let mut client = TcpStream::connect(listen).unwrap();
    client.write_all(&hello).unwrap();
    let mut answer = String::new();
    BufReader::new(&client).read_line(&mut answer).unwrap();
    assert_eq!(answer, "from backend\n");
    drop(client);

    let opened: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(opened["type"], "connection_opened");
    assert_eq!(opened["sni"], "shop.test");
    let closed: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(closed["type"], "connection_closed");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let last: serde_json::Value = serde_json::from_str(rest.last().unwrap()).unwrap();
    assert_eq!(last["stopped"], true);
    assert_eq!(last["stats"]["relayedConnections"], 1);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_port_in_use_exits_2_with_address_unavailable() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args([
            "balance",
            "--domain",
            "shop.test",
            "--backend",
            "127.0.0.1:9",
            "--json",
            "--listen",
        ])
        .arg(taken.local_addr().unwrap().to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "address_unavailable");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("in use by another program"));
}
