//! `-o json`: every event as one line of JSON on stdout, flushed at once so pipes see it live.

use std::io::Write;

use crate::plan::{Event, Reporter};

pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn emit(&self, event: Event) {
        let Ok(line) = serde_json::to_string(&event) else {
            return;
        };
        let mut stdout = std::io::stdout().lock();
        // A closed pipe is not an error worth dying for mid-run.
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}
