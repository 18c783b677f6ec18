//! How many upload streams one caller and one organization may hold open at
//! once, on this instance. An open stream holds a file descriptor and a
//! partial blob, so a member who opens thousands and stalls must be told to
//! wait, not served until the machine runs out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::error::ApiError;

/// What a refused caller is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct Held {
    by_caller: HashMap<String, usize>,
    by_org: HashMap<String, usize>,
}

/// The open uploads, counted per caller and per organization.
#[derive(Debug, Clone)]
pub struct UploadSlots {
    held: Arc<Mutex<Held>>,
    per_caller: usize,
    per_org: usize,
}

/// One open upload; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    held: Arc<Mutex<Held>>,
    caller: String,
    org: String,
}

impl UploadSlots {
    pub fn new(per_caller: usize, per_org: usize) -> Self {
        Self {
            held: Arc::default(),
            per_caller,
            per_org,
        }
    }

    /// How many uploads are open in `org` on this instance.
    pub fn open_in_org(&self, org: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.by_org.get(org).copied().unwrap_or(0)
    }

    /// A slot for `caller` in `org`, or RESOURCE_EXHAUSTED with RetryInfo.
    pub fn take(&self, caller: &str, org: &str) -> Result<Slot, ApiError> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let by_caller = held.by_caller.get(caller).copied().unwrap_or(0);
        let by_org = held.by_org.get(org).copied().unwrap_or(0);
        let refused = |what: &str, limit: usize| ApiError::ResourceExhausted {
            message: format!(
                "{what} already has {limit} uploads open; finish one or retry shortly"
            ),
            retry_after: Some(RETRY_AFTER),
        };
        if by_caller >= self.per_caller {
            return Err(refused("this caller", self.per_caller));
        }
        if by_org >= self.per_org {
            return Err(refused("this organization", self.per_org));
        }
        *held.by_caller.entry(caller.to_owned()).or_default() += 1;
        *held.by_org.entry(org.to_owned()).or_default() += 1;
        Ok(Slot {
            held: self.held.clone(),
            caller: caller.to_owned(),
            org: org.to_owned(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        release(&mut held.by_caller, &self.caller);
        release(&mut held.by_org, &self.org);
    }
}

fn release(counts: &mut HashMap<String, usize>, key: &str) {
    if let Some(count) = counts.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_caller_and_per_org_and_freed_on_drop() {
        let slots = UploadSlots::new(2, 3);
        let a1 = slots.take("alice", "acme").unwrap();
        let _a2 = slots.take("alice", "acme").unwrap();
        let refused = slots.take("alice", "acme").unwrap_err();
        assert!(matches!(
            refused,
            ApiError::ResourceExhausted {
                retry_after: Some(_),
                ..
            }
        ));
        let _b1 = slots.take("bob", "acme").unwrap();
        assert!(slots.take("bob", "acme").is_err(), "the org is full");
        assert!(slots.take("bob", "other").is_ok(), "another org is not");
        drop(a1);
        assert!(
            slots.take("carol", "acme").is_ok(),
            "a freed slot is reused"
        );
    }
}
