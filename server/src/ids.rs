//! Typed ids. Every id is a UUID in its canonical text form; the types keep
//! a file id from being passed where an organization id is meant.
//!
//! An id enters in one of two ways: [`parse`](UserId::parse) for what a
//! caller sent (the error is a field violation's description), or
//! [`trusted`](UserId::trusted) for what the server read from its own rows or
//! from a token it verified. An id reads as `&str` (it derefs to one) and
//! goes into queries as text.

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident,)*) => {$(
        $(#[$doc])*
        ///
        /// Its `Default` (empty) only stands in for an id that failed
        /// validation, after the violation was reported.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// An id a caller sent, in any UUID form; the error describes
            /// the field violation.
            pub fn parse(raw: &str) -> Result<Self, String> {
                crate::validate::parse_id(raw).map(Self)
            }

            /// An id the server read from its own rows or a verified token.
            pub fn trusted(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        // Usable in queries as text: `files::id.eq(&file_id)`.
        impl diesel::expression::AsExpression<diesel::sql_types::Text> for $name {
            type Expression =
                <String as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(self.0)
            }
        }

        impl<'a> diesel::expression::AsExpression<diesel::sql_types::Text> for &'a $name {
            type Expression =
                <&'a str as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(
                    self.0.as_str(),
                )
            }
        }

        impl diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>>
            for $name
        {
            type Expression = <String as diesel::expression::AsExpression<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<
                    diesel::sql_types::Nullable<diesel::sql_types::Text>,
                >::as_expression(self.0)
            }
        }

        impl<'a> diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>>
            for &'a $name
        {
            type Expression = <&'a str as diesel::expression::AsExpression<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<
                    diesel::sql_types::Nullable<diesel::sql_types::Text>,
                >::as_expression(self.0.as_str())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for String {
            fn from(id: &$name) -> String {
                id.0.clone()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                self == &other.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

ids! {
    /// A person's account.
    UserId,
    /// An organization (tenant).
    OrgId,
    /// A sign-in session.
    SessionId,
    /// A file.
    FileId,
    /// A resumable upload session.
    UploadSessionId,
    /// An invitation to an organization.
    InvitationId,
    /// A linked single sign-on identity.
    IdentityId,
    /// A service account (also its OAuth client id).
    ServiceAccountId,
    /// A key or client secret of a service account.
    CredentialId,
    /// A personal access token.
    PersonalAccessTokenId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_id_is_parsed_into_its_canonical_form() {
        let id = uuid::Uuid::now_v7();
        let parsed = FileId::parse(&id.simple().to_string()).unwrap();
        assert_eq!(parsed.as_str(), id.to_string());
        assert_eq!(
            FileId::parse("nope").unwrap_err(),
            crate::validate::parse_id("nope").unwrap_err()
        );
    }
}
