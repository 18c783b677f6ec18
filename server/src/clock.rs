//! Time as the server sees it. Everything that expires (tokens, sessions,
//! lockouts, caches, invitations, uploads) asks a [`Clock`], so tests move time
//! forward instead of sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike as _, Duration, DurationRound as _, NaiveDateTime, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock, truncated to microseconds (what both databases store).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate(Utc::now())
    }
}

/// A clock that only moves when told to (tests, benchmarks of expiry).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(truncate(start)))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}

/// The clock's time as stored in the database (UTC, no zone).
pub fn naive_now(clock: &dyn Clock) -> NaiveDateTime {
    clock.now().naive_utc()
}

/// A stored time as a Protobuf timestamp.
pub fn to_proto(t: NaiveDateTime) -> prost_types::Timestamp {
    let utc = t.and_utc();
    prost_types::Timestamp {
        seconds: utc.timestamp(),
        nanos: i32::try_from(utc.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A Protobuf timestamp as a stored time; `None` when out of range.
pub fn from_proto(t: &prost_types::Timestamp) -> Option<NaiveDateTime> {
    let nanos = u32::try_from(t.nanos).ok()?;
    DateTime::from_timestamp(t.seconds, nanos)
        // The range `google.protobuf.Timestamp` defines (and both databases
        // store): years 1 to 9999.
        .filter(|d| (1..=9999).contains(&d.year()))
        .map(|d| truncate(d).naive_utc())
}
