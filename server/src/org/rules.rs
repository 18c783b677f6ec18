//! What the server accepts as an organization's name, slug and settings, and
//! who may change whose role.

use crate::access::Role;

pub const MAX_NAME_CHARS: usize = 100;

/// 3–63 lowercase letters, digits and hyphens, starting and ending with a
/// letter or digit.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let len = slug.len();
    if !(3..=63).contains(&len) {
        return Err("must be 3 to 63 characters".into());
    }
    if !slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may hold only lowercase letters, digits and hyphens".into());
    }
    if slug.starts_with('-') || slug.ends_with('-') {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

pub fn clean_name(raw: &str) -> Result<String, String> {
    crate::validate::short_name(raw, MAX_NAME_CHARS)
}

/// Whether `actor` may change the membership of someone who holds `target`
/// now and give them `new` (None: remove them). Owners manage everyone;
/// others manage only roles below their own; nobody grants a role above
/// their own.
pub fn may_manage(actor: Role, target: Role, new: Option<Role>) -> bool {
    let grants_ok = new.is_none_or(|new| new <= actor);
    let target_ok = actor == Role::Owner || target < actor;
    grants_ok && target_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for good in ["acme", "a-1", "abc", &"a".repeat(63)] {
            assert!(check_slug(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "Acme",
            "-acme",
            "acme-",
            "ac me",
            "acmé",
            &"a".repeat(64),
        ] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_management() {
        use Role::*;
        assert!(may_manage(Owner, Owner, Some(Admin)));
        assert!(may_manage(Admin, Member, Some(Admin)));
        assert!(may_manage(Admin, Viewer, None));
        assert!(
            !may_manage(Admin, Admin, Some(Member)),
            "peers are off limits"
        );
        assert!(
            !may_manage(Admin, Member, Some(Owner)),
            "no grant above one's own"
        );
        assert!(!may_manage(Admin, Owner, None));
        // (Members never get here: the access table requires ADMIN.)
    }
}
