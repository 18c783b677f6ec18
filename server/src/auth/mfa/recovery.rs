//! Recovery codes: 10 per account, each 80 random bits shown as
//! `xxxx-xxxx-xxxx-xxxx` (base32, lowercase), stored as SHA-256 over the
//! account and the code, usable once.

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _};
use rand::RngCore as _;

use crate::{
    crypto::tokens::hash_token,
    db::{AnyConnection, Tx, schema::recovery_codes},
    error::ApiResult,
};

const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Replaces the user's codes with new ones; returns them (shown once).
pub fn replace(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<Vec<String>> {
    remove(tx, user_id)?;
    let codes: Vec<String> = (0..COUNT).map(|_| generate()).collect();
    for code in &codes {
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::code_hash.eq(hash(user_id, code)),
                recovery_codes::user_id.eq(user_id),
                recovery_codes::used_at.eq(None::<NaiveDateTime>),
            ))
            .execute(tx.conn())?;
    }
    Ok(codes)
}

pub fn remove(tx: &mut Tx<'_>, user_id: &str) -> ApiResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(tx.conn())?;
    Ok(())
}

/// Spends `code` if it is one of the user's unused codes.
pub fn spend(tx: &mut Tx<'_>, user_id: &str, code: &str, now: NaiveDateTime) -> ApiResult<bool> {
    let spent = diesel::update(
        recovery_codes::table
            .find(hash(user_id, &normalize(code)))
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(tx.conn())?;
    Ok(spent == 1)
}

pub fn remaining(conn: &mut AnyConnection, user_id: &str) -> ApiResult<i64> {
    Ok(recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?)
}

/// A code as typed, or the field violation.
pub fn check_input(code: &str) -> Result<(), String> {
    let normalized = normalize(code);
    if normalized.is_empty() {
        return Err("is required".into());
    }
    if normalized.len() != 16 || !normalized.bytes().all(|b| ALPHABET.contains(&b)) {
        return Err("must be one of your recovery codes (xxxx-xxxx-xxxx-xxxx)".into());
    }
    Ok(())
}

fn generate() -> String {
    let mut bytes = [0_u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
        .collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Lowercase, without the dashes and spaces people type.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn hash(user_id: &str, code: &str) -> String {
    hash_token(&format!("{user_id}:{}", normalize(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_four_groups_of_four_and_read_back_as_typed() {
        let code = generate();
        assert_eq!(code.len(), 19);
        assert!(check_input(&code).is_ok());
        assert!(check_input(&code.to_uppercase().replace('-', " ")).is_ok());
        assert_eq!(normalize(&code.to_uppercase()), code.replace('-', ""));
        assert!(check_input("abcd-efgh").is_err());
        assert!(check_input("").is_err());
    }
}
