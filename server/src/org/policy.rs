//! How an organization's members sign in.

use tenantry_proto::org::v1 as pb;

use crate::access::UnknownStored;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginPolicy {
    /// Passwords only.
    Local,
    /// Single sign-on only (owners keep their password, so an organization
    /// cannot lock itself out).
    Sso,
    /// Either.
    Both,
}

impl LoginPolicy {
    const ALL: [LoginPolicy; 3] = [LoginPolicy::Local, LoginPolicy::Sso, LoginPolicy::Both];

    pub fn as_str(self) -> &'static str {
        match self {
            LoginPolicy::Local => "local",
            LoginPolicy::Sso => "sso",
            LoginPolicy::Both => "both",
        }
    }

    /// A policy read from the database; anything else is a corrupt row.
    pub fn from_stored(text: &str) -> Result<Self, UnknownStored> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| UnknownStored::new("login policy", text))
    }

    pub fn to_proto(self) -> pb::LoginPolicy {
        match self {
            LoginPolicy::Local => pb::LoginPolicy::Local,
            LoginPolicy::Sso => pb::LoginPolicy::Sso,
            LoginPolicy::Both => pb::LoginPolicy::Both,
        }
    }

    /// `None` for UNSPECIFIED (no change); the number back for unknown ones.
    pub fn from_proto(value: i32) -> Result<Option<Self>, i32> {
        match pb::LoginPolicy::try_from(value).map_err(|_| value)? {
            pb::LoginPolicy::Unspecified => Ok(None),
            pb::LoginPolicy::Local => Ok(Some(LoginPolicy::Local)),
            pb::LoginPolicy::Sso => Ok(Some(LoginPolicy::Sso)),
            pb::LoginPolicy::Both => Ok(Some(LoginPolicy::Both)),
        }
    }
}

impl TryFrom<String> for LoginPolicy {
    type Error = UnknownStored;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_stored(&text)
    }
}

impl From<LoginPolicy> for String {
    fn from(policy: LoginPolicy) -> Self {
        policy.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_round_trip_and_unknown_text_is_an_error() {
        for policy in LoginPolicy::ALL {
            assert_eq!(LoginPolicy::from_stored(policy.as_str()).unwrap(), policy);
            let proto = policy.to_proto() as i32;
            assert_eq!(LoginPolicy::from_proto(proto), Ok(Some(policy)));
        }
        assert!(
            LoginPolicy::from_stored("SSO").is_err(),
            "no silent fallback to local"
        );
        assert!(LoginPolicy::from_proto(99).is_err());
    }
}
