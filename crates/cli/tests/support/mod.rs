//! What the CLI's integration tests share: the binary with a clean environment, a run's exit
//! code/last JSON line/stderr, and a standalone Sandbox (`cutover sandbox serve`).
#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// `cutover` with nothing from the developer's environment (token, API base, context).
pub fn cutover() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
    for var in [
        "DIGITALOCEAN_ACCESS_TOKEN",
        "CUTOVER_SANDBOX_TOKEN",
        "CUTOVER_API_BASE",
        "CUTOVER_CONTEXT",
        "CUTOVER_ALLOW_INSECURE_HTTP",
    ] {
        cmd.env_remove(var);
    }
    // Never the developer's own accounts: a settings folder of the tests' (absent: no accounts).
    cmd.env("CUTOVER_CONFIG_DIR", no_accounts_dir());
    // Nor the developer's journal: the tests' own data folder.
    cmd.env("CUTOVER_DATA_DIR", tests_data_dir());
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs to the end: (exit code, the last stdout line as JSON or null, stderr).
pub fn run(cmd: &mut Command) -> (i32, Value, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run cutover");
    let text = String::from_utf8_lossy(&stdout).to_string();
    let json = text
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    (
        status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&stderr).to_string(),
    )
}

/// A `cutover sandbox serve` child process, killed on drop.
pub struct Standalone {
    child: Child,
    pub api_base: String,
    pub token: String,
}

impl Drop for Standalone {
    fn drop(&mut self) {
        // SIGTERM first: the Sandbox then stops cleanly and removes the CA file it wrote to
        // the temp folder (SIGKILL would leave one per test run).
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            for _ in 0..50 {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one and reads its ready line.
pub fn standalone() -> Standalone {
    standalone_with(&[])
}

/// [`standalone`] with more `sandbox serve` options.
pub fn standalone_with(options: &[&str]) -> Standalone {
    let mut child = cutover()
        .args(["sandbox", "serve"])
        .args(options)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ready: Value = serde_json::from_str(&line).expect("ready line");
    Standalone {
        child,
        api_base: ready["api_base"].as_str().unwrap().to_string(),
        token: ready["token"].as_str().unwrap().to_string(),
    }
}

/// A settings folder that holds no accounts.
pub fn no_accounts_dir() -> std::path::PathBuf {
    scratch_dir().join(format!("no-accounts-{}", std::process::id()))
}

/// The data folder (the journal) of this test process's runs.
pub fn tests_data_dir() -> std::path::PathBuf {
    scratch_dir().join(format!("data-{}", std::process::id()))
}

/// A fresh `--state-dir` for one test (`tag` names the test in the folder's name).
pub fn state_dir(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = scratch_dir().join(format!("state-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a state dir");
    dir
}

/// Cargo's scratch folder for integration tests (inside target/): what the runs write there goes
/// with `target/`, instead of piling up in the system's temp folder run after run.
fn scratch_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cutover-cli-tests")
}

/// One request to the standalone Sandbox (the tests stay on 127.0.0.1), with a JSON body (empty
/// for none): (status, body).
pub fn sandbox_http(sb: &Standalone, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = sb
        .api_base
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sb.token,
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
