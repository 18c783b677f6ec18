//! Enums stored as text (roles, login policies). Written through their
//! `as_str`; read back through `TryFrom<String>` (`#[diesel(deserialize_as =
//! String)]` on the row field), so a value the server does not know is a
//! deserialization error, never a silent fallback.

use diesel::{expression::AsExpression, sql_types::Text};

use crate::{access::Role, org::LoginPolicy};

macro_rules! stored_as_text {
    ($($ty:ty),* $(,)?) => {$(
        impl AsExpression<Text> for $ty {
            type Expression = <&'static str as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }

        impl AsExpression<Text> for &$ty {
            type Expression = <&'static str as AsExpression<Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                <&'static str as AsExpression<Text>>::as_expression(self.as_str())
            }
        }
    )*};
}

stored_as_text!(Role, LoginPolicy);
