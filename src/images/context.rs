//! Build contexts: the files of an image, rendered from `templates/images/`, packed as a
//! deterministic tar (sorted, no timestamps or owners) so that the same inputs give the same
//! digest, which becomes the image tag: an unchanged image is never rebuilt.

use std::io::Write;

use sha2::{Digest, Sha256};

/// One file of a context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub data: Vec<u8>,
    pub executable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    files: Vec<File>,
}

impl Context {
    pub fn add(&mut self, path: &str, data: impl Into<Vec<u8>>, executable: bool) {
        self.files.retain(|f| f.path != path);
        self.files.push(File { path: path.to_string(), data: data.into(), executable });
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
    }

    pub fn files(&self) -> &[File] {
        &self.files
    }

    pub fn file(&self, path: &str) -> Option<&File> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The uncompressed tar: entries sorted by path, mtime 0, owner root, modes 0644/0755.
    pub fn tar(&self) -> anyhow::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        for f in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(f.data.len() as u64);
            header.set_mode(if f.executable { 0o755 } else { 0o644 });
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, &f.path, f.data.as_slice())
                .map_err(|e| anyhow::anyhow!("cannot pack {} into the build context: {e}", f.path))?;
        }
        builder.into_inner().map_err(|e| anyhow::anyhow!("cannot finish the build context: {e}"))
    }

    /// The tar, gzip-compressed (what Cloud Build fetches).
    pub fn tar_gz(&self) -> anyhow::Result<Vec<u8>> {
        let tar = self.tar()?;
        let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(tar.len() / 2), flate2::Compression::fast());
        gz.write_all(&tar)
            .and_then(|()| gz.finish())
            .map_err(|e| anyhow::anyhow!("cannot compress the build context: {e}"))
    }

    /// sha256 of the tar, hex.
    pub fn digest(&self) -> anyhow::Result<String> {
        let digest = Sha256::digest(self.tar()?);
        Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The image tag: the first 16 hex digits of the digest.
    pub fn tag(&self) -> anyhow::Result<String> {
        Ok(self.digest()?[..16].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_files_same_digest_whatever_the_order() {
        let mut a = Context::default();
        a.add("Dockerfile", "FROM x", false);
        a.add("start.sh", "#!/bin/sh", true);
        let mut b = Context::default();
        b.add("start.sh", "#!/bin/sh", true);
        b.add("Dockerfile", "FROM x", false);
        assert_eq!(a.digest().unwrap(), b.digest().unwrap());
        b.add("start.sh", "#!/bin/sh\n", true);
        assert_ne!(a.digest().unwrap(), b.digest().unwrap());
        assert_eq!(a.tag().unwrap().len(), 16);
    }

    #[test]
    fn the_tarball_unpacks_with_modes() {
        let mut c = Context::default();
        c.add("Dockerfile", "FROM x", false);
        c.add("start.sh", "#!/bin/sh", true);
        let gz = c.tar_gz().unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz.as_slice()));
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.header().mode().unwrap())
            })
            .collect();
        assert_eq!(entries, [("Dockerfile".to_string(), 0o644), ("start.sh".to_string(), 0o755)]);
    }
}
