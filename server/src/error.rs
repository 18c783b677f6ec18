//! The error of the request path and its one mapping to `tonic::Status`.
//!
//! Policy: a caller's mistake gets a precise code, a lowercase message that
//! says what to change, and google.rpc details (BadRequest field violations,
//! RetryInfo, PreconditionFailure). Our own failures are logged with their
//! cause and answer INTERNAL with a message that reveals nothing (no SQL, no
//! paths, no keys). Foreign ids answer NOT_FOUND exactly like missing ones.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// A boxed cause of an internal failure.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<Violation>),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    PermissionDenied(String),
    /// The thing that was not found, e.g. "file".
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        /// (type, subject, description) for a google.rpc.PreconditionFailure.
        violation: Option<(String, String, String)>,
    },
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    DataLoss(String),
    #[error("{0}")]
    Aborted(String),
    /// The server stopped waiting for the caller (a stalled stream).
    #[error("{0}")]
    DeadlineExceeded(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[source] BoxError),
    /// A status that arose on the wire (a request stream that broke or was
    /// refused by the codec), passed on as it is.
    #[error("{0}")]
    Wire(tonic::Status),
}

/// One field of a request that is not acceptable, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// INVALID_ARGUMENT for one field.
    /// The database cannot be reached: UNAVAILABLE, which clients retry.
    pub fn database_gone() -> Self {
        Self::Unavailable("the database is not available, retry later".into())
    }

    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::FailedPrecondition {
            message: message.into(),
            violation: None,
        }
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied(message.into())
    }

    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        if connection_lost(&err) {
            tracing::warn!(error = %err, "the database connection was lost");
            return Self::database_gone();
        }
        Self::Internal(Box::new(err))
    }
}

/// Whether the error says the connection, not the query, failed: the server
/// went away (shut down, restarted, failed over) or the network dropped.
fn connection_lost(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match err {
        Error::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => true,
        // A query failed and so did the rollback after it: the connection
        // went away mid-transaction (as with any lost connection, a COMMIT
        // in flight may or may not have landed).
        Error::BrokenTransactionManager => true,
        // PostgreSQL's "terminating connection due to administrator
        // command" (57P01) and libpq's lost-socket messages come as Unknown.
        Error::DatabaseError(Kind::Unknown, info) => {
            let message = info.message();
            [
                "terminating connection",
                "server closed the connection",
                "no connection to the server",
                "could not receive data from server",
                "could not send data to server",
                "the database system is shutting down",
                "the database system is starting up",
            ]
            .iter()
            .any(|sign| message.contains(sign))
        }
        _ => false,
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(err: r2d2::Error) -> Self {
        tracing::warn!(error = %err, "database pool exhausted or unreachable");
        Self::database_gone()
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        Self::Wire(status)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(err: std::io::Error) -> Self {
        Self::Internal(Box::new(err))
    }
}

/// The longest status message, and field violation, sent. Both travel in
/// HTTP/2 headers (a trailers-only answer), whose total the client caps
/// (16 KiB by default): a validator that quotes a 70,000-character value
/// must not turn a clear INVALID_ARGUMENT into a broken stream.
const MAX_MESSAGE_CHARS: usize = 1024;
const MAX_VIOLATION_CHARS: usize = 256;

/// `text` cut to `max` characters, marked with `…` when cut.
fn clip(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        let message = clip(err.to_string(), MAX_MESSAGE_CHARS);
        match err {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    let description = clip(v.description, MAX_VIOLATION_CHARS);
                    details.add_bad_request_violation(v.field, description);
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ApiError::Unauthenticated(_) => Status::unauthenticated(message),
            ApiError::PermissionDenied(_) => Status::permission_denied(message),
            ApiError::NotFound(_) => Status::not_found(message),
            ApiError::AlreadyExists(_) => Status::already_exists(message),
            ApiError::FailedPrecondition {
                violation: Some((kind, subject, description)),
                ..
            } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_precondition_failure_violation(
                    kind,
                    subject,
                    clip(description, MAX_VIOLATION_CHARS),
                ),
            ),
            ApiError::FailedPrecondition { .. } => Status::failed_precondition(message),
            ApiError::ResourceExhausted {
                retry_after: Some(delay),
                ..
            } => Status::with_error_details(
                Code::ResourceExhausted,
                message,
                ErrorDetails::with_retry_info(Some(delay)),
            ),
            ApiError::ResourceExhausted { .. } => Status::resource_exhausted(message),
            ApiError::DataLoss(_) => Status::data_loss(message),
            ApiError::Aborted(_) => Status::aborted(message),
            ApiError::DeadlineExceeded(_) => Status::deadline_exceeded(message),
            ApiError::Unavailable(_) => Status::unavailable(message),
            ApiError::Wire(status) => status,
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, debug = ?cause, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// Collects field violations so a request reports all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the violation of a validation result, keeping its value.
    pub fn take<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(description) => {
                self.add(field, description);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(self.0))
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a tonic handler returns.
pub type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

/// A service function's result as a tonic answer (errors mapped in the one
/// place, `From<ApiError> for Status`).
pub fn ok<T>(result: ApiResult<T>) -> Reply<T> {
    result
        .map(tonic::Response::new)
        .map_err(tonic::Status::from)
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt as _;

    use super::*;

    #[test]
    fn quoted_input_is_clipped_to_fit_in_headers() {
        let mut violations = Violations::new();
        violations.add("label", format!("key {:?} is wrong", "k".repeat(70_000)));
        let status = Status::from(violations.finish().unwrap_err());
        assert!(status.message().chars().count() <= MAX_MESSAGE_CHARS + 1);
        let details = status.get_error_details();
        let violation = &details.bad_request().unwrap().field_violations[0];
        assert_eq!(violation.field, "label");
        assert!(violation.description.ends_with('…'));
        assert_eq!(
            violation.description.chars().count(),
            MAX_VIOLATION_CHARS + 1
        );
    }
}
