//! Simulated time: every duration the emulator simulates is divided by `--speed`.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    speed: f64,
}

impl Clock {
    /// `speed` below 1e-6 (or not finite) is treated as 1: a zero would make every wait infinite.
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 1e-6 { speed } else { 1.0 };
        Self { speed }
    }

    /// A simulated duration as real time.
    pub fn scaled(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speed)
    }

    /// Simulated seconds as real time.
    pub fn secs(&self, simulated_secs: f64) -> Duration {
        self.scaled(Duration::from_secs_f64(simulated_secs.max(0.0)))
    }
}

/// Now as RFC 3339 with milliseconds (`2026-11-21T21:50:00.123Z`), the form Google's APIs use.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Milliseconds since the Unix epoch (used in operation names, like Google's).
pub fn now_millis() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divides_by_speed() {
        let clock = Clock::new(1000.0);
        assert_eq!(clock.secs(360.0), Duration::from_millis(360));
        assert_eq!(Clock::new(0.0).secs(2.0), Duration::from_secs(2));
    }
}
