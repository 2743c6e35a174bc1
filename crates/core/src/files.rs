//! Files the user's work depends on (settings, rollback sets, exported reports): written whole
//! or not at all, and a failed write says what the user can do about it.

use std::path::Path;

use crate::{ApiError, ErrorCode};

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ApiError> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = None;
    for n in 0..100u32 {
        let candidate = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => {
                tmp = Some((candidate, file));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_error(path, &e)),
        }
    }
    let (tmp_path, mut file) = tmp.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Io,
            format!("could not create a temporary file in {}", dir.display()),
        )
    })?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp_path, path)
        });
    if let Err(e) = written {
        // Best effort: the temporary file may already be gone with its folder.
        let _ = std::fs::remove_file(&tmp_path);
        return Err(write_error(path, &e));
    }
    Ok(())
}

/// Why a write failed, in words the user can act on; `details.reason` is stable.
pub fn write_error(path: &Path, e: &std::io::Error) -> ApiError {
    use std::io::ErrorKind;
    let dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|| ".".into());
    // The kinds cover ENOSPC / EDQUOT and Windows' ERROR_DISK_FULL; the raw codes are the same
    // errors as seen by a standard library that does not map them yet.
    const DISK_FULL_CODES: &[i32] = if cfg!(windows) { &[39, 112] } else { &[28] };
    let disk_full = e.kind() == ErrorKind::StorageFull
        || e.kind() == ErrorKind::QuotaExceeded
        || e.raw_os_error()
            .is_some_and(|c| DISK_FULL_CODES.contains(&c));
    let (reason, message) =
        if e.kind() == ErrorKind::PermissionDenied || e.kind() == ErrorKind::ReadOnlyFilesystem {
            (
                "permission_denied",
                format!("You may not write to {dir}: choose another folder. ({e})"),
            )
        } else if disk_full {
            (
                "disk_full",
                format!(
                    "The disk holding {dir} is full: free some space or choose another disk. ({e})"
                ),
            )
        } else if e.kind() == ErrorKind::NotFound {
            (
                "directory_missing",
                format!("The folder {dir} no longer exists: choose another one. ({e})"),
            )
        } else {
            ("other", format!("Could not write {}: {e}", path.display()))
        };
    ApiError::new(ErrorCode::Io, message).with_details(serde_json::json!({
        "path": path.display().to_string(),
        "reason": reason,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_errors_name_the_cause() {
        let path = Path::new("/data/reports/r.md");
        let reason = |e: std::io::Error| {
            let err = write_error(path, &e);
            assert!(err.message.contains("/data/reports"), "{}", err.message);
            err.details.unwrap()["reason"].as_str().unwrap().to_string()
        };
        use std::io::{Error, ErrorKind};
        assert_eq!(
            reason(Error::from(ErrorKind::PermissionDenied)),
            "permission_denied"
        );
        assert_eq!(
            reason(Error::from(ErrorKind::ReadOnlyFilesystem)),
            "permission_denied"
        );
        assert_eq!(reason(Error::from(ErrorKind::StorageFull)), "disk_full");
        #[cfg(unix)]
        assert_eq!(reason(Error::from_raw_os_error(28)), "disk_full");
        assert_eq!(
            reason(Error::from(ErrorKind::NotFound)),
            "directory_missing"
        );
        assert_eq!(reason(Error::other("boom")), "other");
    }

    #[test]
    fn a_write_replaces_the_file_whole_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
    }

    #[test]
    fn a_failed_rename_leaves_what_was_there_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder where the file should go: the rename fails (also for root, unlike a
        // read-only folder), after the temporary file was written.
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"old").unwrap();
        let err = write_atomic(&path, b"new").unwrap_err();
        assert_eq!(err.code, ErrorCode::Io);
        assert_eq!(std::fs::read(path.join("keep")).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
