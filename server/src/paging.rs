//! Cursor pagination: a page token names the last row of the previous page
//! (its sort key and id), so deep pages cost what the first one costs.
//!
//! Tokens are opaque and tamper-evident (Google AIP-158): the cursor travels
//! with an HMAC under a server key, bound to the list it came from — the
//! request message without its page fields (so filters and order), its type
//! and whose list it is. A token that was altered, or replayed with other
//! filters, is INVALID_ARGUMENT; `page_size` may change between pages.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::error::{ApiError, ApiResult};

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";
/// Bytes of MAC a token carries: 128 bits.
const TAG_BYTES: usize = 16;
const NOT_OURS: &str = "is not a token this server handed out for this list (were filters or order changed?): start again without a page token";

/// A list request: a message with `page_size` and `page_token` fields.
pub trait PagedRequest: prost::Message + Clone {
    fn page_size(&self) -> i32;
    fn page_token(&self) -> &str;
    /// The request as the token is bound to it: page fields cleared.
    fn without_page(&self) -> Self;
}

macro_rules! paged_requests {
    ($($request:ty),* $(,)?) => {$(
        impl PagedRequest for $request {
            fn page_size(&self) -> i32 {
                self.page_size
            }
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn without_page(&self) -> Self {
                let mut request = self.clone();
                request.page_size = 0;
                request.page_token.clear();
                request
            }
        }
    )*};
}

paged_requests!(
    tenantry_proto::auth::v1::ListSessionsRequest,
    tenantry_proto::org::v1::ListMyOrganizationsRequest,
    tenantry_proto::org::v1::ListMembersRequest,
    tenantry_proto::org::v1::ListInvitationsRequest,
    tenantry_proto::audit::v1::ListAuditEventsRequest,
    tenantry_proto::file::v1::ListFilesRequest,
    tenantry_proto::serviceaccount::v1::ListServiceAccountsRequest,
);

/// The server key page tokens are signed with (derived from the master key,
/// so every instance checks every other's tokens).
#[derive(Clone)]
pub struct PageTokens {
    key: [u8; 32],
}

impl PageTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Validates the page fields of `request`, a list of `owner` (the user or
    /// organization whose rows it shows). `page_size` 0 means `default`;
    /// above `max` is refused.
    pub fn parse<R: PagedRequest>(
        &self,
        owner: &str,
        request: &R,
        default: i64,
        max: i64,
    ) -> ApiResult<Page> {
        let size = page_size(request.page_size(), default, max)?;
        let binding = self.binding::<R>(owner, &request.without_page());
        let token = request.page_token();
        let after = if token.is_empty() {
            None
        } else {
            Some(open(&binding, token).ok_or_else(|| ApiError::invalid("page_token", NOT_OURS))?)
        };
        Ok(Page {
            size,
            after,
            binding,
        })
    }

    /// A key for this one list: its tokens open nowhere else.
    fn binding<R: PagedRequest>(&self, owner: &str, request: &R) -> [u8; 32] {
        let mut mac = hmac(&self.key);
        for part in [std::any::type_name::<R>().as_bytes(), owner.as_bytes()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.update(&request.encode_to_vec());
        mac.finalize().into_bytes().into()
    }
}

fn page_size(page_size: i32, default: i64, max: i64) -> ApiResult<i64> {
    match i64::from(page_size) {
        0 => Ok(default),
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
        n if n > max => Err(ApiError::invalid(
            "page_size",
            format!("must be at most {max}"),
        )),
        n => Ok(n),
    }
}

fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn tag(binding: &[u8; 32], payload: &[u8]) -> [u8; TAG_BYTES] {
    let mut mac = hmac(binding);
    mac.update(payload);
    let full = mac.finalize().into_bytes();
    let mut tag = [0; TAG_BYTES];
    tag.copy_from_slice(&full[..TAG_BYTES]);
    tag
}

/// `base64url(payload || tag)`.
fn seal(binding: &[u8; 32], parts: &[String]) -> String {
    let mut bytes = serde_json::to_vec(parts).unwrap_or_default();
    let tag = tag(binding, &bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn open(binding: &[u8; 32], token: &str) -> Option<Vec<String>> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let split = bytes.len().checked_sub(TAG_BYTES)?;
    let (payload, given) = bytes.split_at(split);
    if !bool::from(tag(binding, payload).ct_eq(given)) {
        return None;
    }
    serde_json::from_slice(payload).ok()
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct Page {
    pub size: i64,
    /// The key parts of the last row already seen.
    pub after: Option<Vec<String>>,
    binding: [u8; 32],
}

impl Page {
    /// The cursor as (time, id), for lists ordered by a timestamp.
    pub fn after_time_and_id(&self) -> ApiResult<Option<(NaiveDateTime, String)>> {
        match self.after.as_deref() {
            None => Ok(None),
            Some([time, id]) => NaiveDateTime::parse_from_str(time, TIME_FORMAT)
                .map(|t| Some((t, id.clone())))
                .map_err(|_| ApiError::invalid("page_token", NOT_OURS)),
            Some(_) => Err(ApiError::invalid("page_token", NOT_OURS)),
        }
    }

    /// The cursor as one text key and an id (lists ordered by name).
    pub fn after_text_and_id(&self) -> ApiResult<Option<(String, String)>> {
        match self.after.as_deref() {
            None => Ok(None),
            Some([key, id]) => Ok(Some((key.clone(), id.clone()))),
            Some(_) => Err(ApiError::invalid("page_token", NOT_OURS)),
        }
    }

    /// The cursor as one number (lists ordered by a sequence).
    pub fn after_number(&self) -> ApiResult<Option<i64>> {
        match self.after.as_deref() {
            None => Ok(None),
            Some([number]) => number
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid("page_token", NOT_OURS)),
            Some(_) => Err(ApiError::invalid("page_token", NOT_OURS)),
        }
    }

    /// Fetch one row more than the page to know whether another page follows.
    pub fn limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts `rows` to the page and makes the next token from the last row.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> Vec<String>) -> (Vec<T>, String) {
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > self.size;
        rows.truncate(usize::try_from(self.size).unwrap_or(usize::MAX));
        let next = match (more, rows.last()) {
            (true, Some(last)) => seal(&self.binding, &key(last)),
            _ => String::new(),
        };
        (rows, next)
    }
}

pub fn time_key(t: NaiveDateTime) -> String {
    t.format(TIME_FORMAT).to_string()
}

#[cfg(test)]
mod tests {
    use tenantry_proto::file::v1::ListFilesRequest;

    use super::*;

    fn files(label: &str, page_size: i32, page_token: &str) -> ListFilesRequest {
        ListFilesRequest {
            label: label.into(),
            page_size,
            page_token: page_token.into(),
            ..ListFilesRequest::default()
        }
    }

    fn first_token(tokens: &PageTokens) -> String {
        let page = tokens.parse("org-a", &files("x", 2, ""), 50, 100).unwrap();
        let (rows, next) = page.finish(vec![1, 2, 3], |n| vec![n.to_string(), "id".into()]);
        assert_eq!(rows, vec![1, 2]);
        next
    }

    #[test]
    fn a_token_leads_to_the_next_page_even_with_another_page_size() {
        let tokens = PageTokens::new([7; 32]);
        let next = first_token(&tokens);
        let again = tokens
            .parse("org-a", &files("x", 5, &next), 50, 100)
            .unwrap();
        assert_eq!(again.after, Some(vec!["2".to_owned(), "id".to_owned()]));
    }

    #[test]
    fn an_altered_token_is_refused() {
        let tokens = PageTokens::new([7; 32]);
        let next = first_token(&tokens);
        for position in 0..next.len() {
            let mut altered = next.clone().into_bytes();
            altered[position] = if altered[position] == b'A' {
                b'B'
            } else {
                b'A'
            };
            let altered = String::from_utf8(altered).unwrap();
            if altered == next {
                continue;
            }
            assert!(
                tokens
                    .parse("org-a", &files("x", 2, &altered), 50, 100)
                    .is_err(),
                "character {position} changed and still accepted"
            );
        }
        assert!(
            tokens
                .parse("org-a", &files("x", 2, "%%%"), 50, 100)
                .is_err()
        );
        assert!(
            tokens
                .parse("org-a", &files("x", 2, "AAAA"), 50, 100)
                .is_err()
        );
    }

    #[test]
    fn a_token_is_bound_to_its_filters_owner_list_and_server_key() {
        let tokens = PageTokens::new([7; 32]);
        let next = first_token(&tokens);
        let other_filter = tokens.parse("org-a", &files("y", 2, &next), 50, 100);
        assert!(other_filter.is_err(), "replayed with another filter");
        let other_owner = tokens.parse("org-b", &files("x", 2, &next), 50, 100);
        assert!(other_owner.is_err(), "replayed in another organization");
        let sessions = tenantry_proto::auth::v1::ListSessionsRequest {
            page_size: 2,
            page_token: next.clone(),
        };
        assert!(
            tokens.parse("org-a", &sessions, 50, 100).is_err(),
            "another list"
        );
        let other_key = PageTokens::new([8; 32]);
        assert!(
            other_key
                .parse("org-a", &files("x", 2, &next), 50, 100)
                .is_err()
        );
    }

    #[test]
    fn page_sizes_are_checked() {
        let tokens = PageTokens::new([7; 32]);
        assert_eq!(
            tokens.parse("o", &files("", 0, ""), 50, 100).unwrap().size,
            50
        );
        assert!(tokens.parse("o", &files("", 101, ""), 50, 100).is_err());
        assert!(tokens.parse("o", &files("", -1, ""), 50, 100).is_err());
    }
}
