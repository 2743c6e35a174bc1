//! Replays the committed fuzz corpus (`fuzz/corpus/client_hello/`), the fuzz regression inputs
//! (`fuzz/regressions/client_hello/`) and the real ClientHellos (`testdata/*.bin`) through the
//! fuzz target's checks on the stable toolchain, so every file is checked on every `cargo test`.
//! The time-boxed libFuzzer run itself is in `scripts/test.sh`.

#[path = "../fuzz/check.rs"]
mod check;

use std::path::{Path, PathBuf};

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md" && e != "py"))
        .collect();
    files.sort();
    files
}

fn replay(dir: &str) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let files = files_in(&dir);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        // The fuzz target's own cut, then a spread of cuts across the input.
        let mut cuts = vec![check::cut_for(&data)];
        cuts.extend((0..data.len()).step_by((data.len() / 32).max(1)));
        for cut in cuts {
            let result = std::panic::catch_unwind(|| check::check(&data, cut));
            assert!(result.is_ok(), "{} (cut {cut}) fails", file.display());
        }
    }
    files.len()
}

#[test]
fn the_committed_fuzz_corpus_and_regressions_pass() {
    let corpus = replay("fuzz/corpus/client_hello");
    // Crashes the fuzzer finds go to fuzz/regressions/client_hello/ once fixed (see
    // fuzz/README.md); none so far, so that directory may be absent.
    let regressions = replay("fuzz/regressions/client_hello");
    // The corpus is committed: a nearly empty one means it was lost.
    assert!(
        corpus >= 50,
        "only {corpus} corpus files ({regressions} regressions)"
    );
}

#[test]
fn real_hellos_pass_the_fuzz_checks() {
    assert!(replay("testdata") >= 10);
}
