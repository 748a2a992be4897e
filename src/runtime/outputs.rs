//! A user's outputs, copied from the WebUI pod to that user's own folder on the shared volume.
//!
//! The WebUI container never sees the shared outputs: it writes into a pod-local directory,
//! and the sidecar (which runs no user code) copies new and changed files to
//! `<shared outputs>/<user>/`. So code running in one user's WebUI cannot read or change another
//! user's outputs. Only regular files and directories are copied; symbolic links and anything
//! else the WebUI side may have made are skipped, so nothing outside the pod-local directory is
//! ever read.

use std::fs;
use std::io;
use std::path::Path;

/// What one pass copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub files: usize,
    pub bytes: u64,
    /// Entries left out (links, devices, unreadable files).
    pub skipped: usize,
}

/// Copies every regular file under `from` that `to` lacks or has in another size or an older
/// version to `to` (created as needed), keeping the tree. Files are written under a temporary
/// name and renamed, so a reader never sees half a file.
pub fn sync(from: &Path, to: &Path) -> io::Result<Copied> {
    let mut copied = Copied::default();
    fs::create_dir_all(to)?;
    walk(from, to, &mut copied)?;
    Ok(copied)
}

fn walk(from: &Path, to: &Path, copied: &mut Copied) -> io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        // `file_type` does not follow symbolic links.
        let kind = entry.file_type()?;
        let (source, target) = (entry.path(), to.join(&name));
        if kind.is_dir() {
            if !target.is_dir() {
                fs::create_dir(&target)?;
            }
            walk(&source, &target, copied)?;
        } else if kind.is_file() {
            let meta = entry.metadata()?;
            if is_current(&target, &meta) {
                continue;
            }
            match copy(&source, &target) {
                Ok(bytes) => {
                    copied.files += 1;
                    copied.bytes += bytes;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {} // gone meanwhile
                Err(e) => return Err(e),
            }
        } else {
            copied.skipped += 1;
        }
    }
    Ok(())
}

/// Whether `target` already holds this version of the file (same size, not older).
fn is_current(target: &Path, source: &fs::Metadata) -> bool {
    let Ok(have) = fs::symlink_metadata(target) else { return false };
    have.is_file()
        && have.len() == source.len()
        && matches!((have.modified(), source.modified()), (Ok(t), Ok(s)) if t >= s)
}

fn copy(source: &Path, target: &Path) -> io::Result<u64> {
    let mut tmp = target.as_os_str().to_owned();
    tmp.push(".sdctl-partial");
    let tmp = std::path::PathBuf::from(tmp);
    let bytes = fs::copy(source, &tmp)?;
    fs::rename(&tmp, target)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_new_and_changed_files_and_never_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let (local, share, secret) = (dir.path().join("local"), dir.path().join("share/alice"), dir.path().join("bob"));
        fs::create_dir_all(local.join("txt2img-images/2026-12-03")).unwrap();
        fs::create_dir_all(&secret).unwrap();
        fs::write(secret.join("private.png"), b"bob's").unwrap();
        fs::write(local.join("txt2img-images/2026-12-03/00001.png"), b"png").unwrap();
        // Code in the WebUI links another user's folder into its outputs: not followed.
        std::os::unix::fs::symlink(&secret, local.join("stolen")).unwrap();
        std::os::unix::fs::symlink(secret.join("private.png"), local.join("stolen.png")).unwrap();
        let first = sync(&local, &share).unwrap();
        assert_eq!((first.files, first.bytes, first.skipped), (1, 3, 2));
        assert_eq!(fs::read(share.join("txt2img-images/2026-12-03/00001.png")).unwrap(), b"png");
        assert!(!share.join("stolen").exists() && !share.join("stolen.png").exists());
        // Nothing new: nothing copied. A changed file: copied again.
        assert_eq!(sync(&local, &share).unwrap().files, 0);
        fs::write(local.join("txt2img-images/2026-12-03/00001.png"), b"png, larger").unwrap();
        assert_eq!(sync(&local, &share).unwrap().files, 1);
        assert_eq!(fs::read(share.join("txt2img-images/2026-12-03/00001.png")).unwrap(), b"png, larger");
    }
}
