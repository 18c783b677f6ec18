//! The one error type of the SDK: what the server said (code, message,
//! field violations, when to retry, the request id), or what went wrong on
//! this side (a file that cannot be read, a download whose SHA-256 differs).

use std::{fmt, time::Duration};

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// A failed call or helper.
///
/// Every generated stub returns [`tonic::Status`]; `?` turns it into an
/// `Error` (it implements `From<Status>`), so one type covers the stubs and
/// the helpers.
#[derive(Debug)]
pub struct Error {
    code: Code,
    message: String,
    field_violations: Vec<FieldViolation>,
    retry_delay: Option<Duration>,
    request_id: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// One field the server refused, and why (`google.rpc.BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// The field's path in the request, e.g. `metadata.name`.
    pub field: String,
    /// What is wrong with it, for a person.
    pub description: String,
}

/// The response header that carries the server's request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

impl Error {
    /// An error that happened on this side, with the gRPC code that best
    /// names its class (e.g. `NotFound` for a missing local file).
    pub fn local(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field_violations: Vec::new(),
            retry_delay: None,
            request_id: None,
            source: None,
        }
    }

    /// A local I/O failure, classed by its kind.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => Code::NotFound,
            std::io::ErrorKind::PermissionDenied => Code::PermissionDenied,
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                Code::InvalidArgument
            }
            _ => Code::Unknown,
        };
        let mut error = Self::local(code, format!("{context}: {err}"));
        error.source = Some(Box::new(err));
        error
    }

    /// The gRPC status code (for a local error, the closest class).
    pub fn code(&self) -> Code {
        self.code
    }

    /// The message, for a person.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The fields the server refused (empty unless `InvalidArgument`).
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.field_violations
    }

    /// How long the server asked to wait before trying again
    /// (`google.rpc.RetryInfo`).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.retry_delay
    }

    /// The server's id of the failed call (its `x-request-id`), to find it
    /// in the server's logs.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether trying the same call again later may succeed: `Unavailable`
    /// (no connection, or a server shedding load) or `ResourceExhausted`
    /// (a rate limit or lockout; see [`retry_delay`](Self::retry_delay)).
    /// (The SDK retries idempotent calls by itself; see
    /// [`RetryPolicy`](crate::RetryPolicy).)
    pub fn is_retryable(&self) -> bool {
        is_retryable_code(self.code)
    }
}

pub(crate) fn is_retryable_code(code: Code) -> bool {
    matches!(code, Code::Unavailable | Code::ResourceExhausted)
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        let field_violations = details
            .bad_request()
            .map(|bad| {
                bad.field_violations
                    .iter()
                    .map(|v| FieldViolation {
                        field: v.field.clone(),
                        description: v.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let request_id = status
            .metadata()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Self {
            code: status.code(),
            message: status.message().to_owned(),
            field_violations,
            retry_delay: details.retry_info().and_then(|r| r.retry_delay),
            request_id,
            source: None,
        }
    }
}

/// Back to a status (with its details), for a failure inside the channel
/// (e.g. credentials that could not sign in) that a stub must report.
impl From<Error> for Status {
    fn from(error: Error) -> Self {
        let mut details = ErrorDetails::new();
        for v in &error.field_violations {
            details.add_bad_request_violation(v.field.clone(), v.description.clone());
        }
        if error.retry_delay.is_some() {
            details.set_retry_info(error.retry_delay);
        }
        let mut status = Status::with_error_details(error.code, error.message, details);
        if let Some(id) = error.request_id.and_then(|id| id.parse().ok()) {
            status.metadata_mut().insert(REQUEST_ID_HEADER, id);
        }
        status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)?;
        for v in &self.field_violations {
            write!(f, "\n  {}: {}", v.field, v.description)?;
        }
        if let Some(delay) = self.retry_delay {
            write!(f, "\n  retry in {} s", delay.as_secs_f64().ceil())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, "\n  request id {id}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The SDK's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
