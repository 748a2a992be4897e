//! The request log: one JSON object per request, in memory and optionally appended to a file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;

pub struct RequestLog {
    entries: Mutex<Vec<Value>>,
    file: Option<Mutex<BufWriter<File>>>,
}

impl RequestLog {
    pub fn new(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            Some(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| anyhow::anyhow!("cannot open request log {}: {e}", path.display()))?;
                Some(Mutex::new(BufWriter::new(file)))
            }
            None => None,
        };
        Ok(Self { entries: Mutex::new(Vec::new()), file })
    }

    pub fn push(&self, entry: Value) {
        if let Some(file) = &self.file {
            let mut file = lock(file);
            // A full disk must not fail the request being served; the in-memory log stays complete.
            let _ = serde_json::to_writer(&mut *file, &entry)
                .map_err(std::io::Error::from)
                .and_then(|()| file.write_all(b"\n"))
                .and_then(|()| file.flush());
        }
        lock(&self.entries).push(entry);
    }

    pub fn entries(&self) -> Vec<Value> {
        lock(&self.entries).clone()
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
    }
}

/// Locks a mutex, ignoring poisoning: a panicking handler must not take the whole emulator down.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
