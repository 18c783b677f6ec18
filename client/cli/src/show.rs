//! How things look: tables with sizes and times for people, JSON for
//! scripts (`--output json`), and errors with the exit code of their class.

use serde_json::Value;
use tenantry_client::{
    Error,
    auth::v1::Role,
    tonic::{Code, Status},
};

/// How lists are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns, sizes like `1.5 MiB`, times like `2026-12-02 14:03`.
    Text,
    /// One JSON array of objects: sizes in bytes, times in RFC 3339.
    Json,
}

/// Prints `rows` (JSON objects) as a table of `columns`, or as JSON.
/// Columns ending in `_bytes` are sizes, `time` and `…_time` times.
pub fn list(output: Output, columns: &[&str], rows: &[Value]) {
    if output == Output::Json {
        println!("{}", Value::Array(rows.to_vec()));
        return;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| cell(c, &row[*c])).collect())
        .collect();
    let header: Vec<String> = columns.iter().map(|c| heading(c)).collect();
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in std::iter::once(&header).chain(&cells) {
        let padded: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(text, width)| format!("{text:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    }
}

fn heading(column: &str) -> String {
    let words = match column {
        "create_time" => "created",
        "join_time" => "joined",
        "expire_time" => "expires",
        "last_use_time" => "last used",
        "revoke_time" => "revoked",
        "size_bytes" => "size",
        other => other,
    };
    words.replace('_', " ").to_uppercase()
}

fn is_time(column: &str) -> bool {
    column == "time" || column.ends_with("_time")
}

fn cell(column: &str, value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::Number(n) if column.ends_with("_bytes") => size(n.as_u64().unwrap_or(0)),
        Value::String(s) if is_time(column) => human_time(s),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `1536` → `1.5 KiB`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// An RFC 3339 time to the minute, in UTC.
fn human_time(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((day, clock)) => format!("{day} {}", clock.get(..5).unwrap_or(clock)),
        None => rfc3339.to_owned(),
    }
}

/// A timestamp for a person, to the minute (`-` when absent).
pub fn when(t: Option<&prost_types::Timestamp>) -> String {
    t.map_or_else(|| "-".into(), |t| human_time(&t.to_string()))
}

/// A timestamp as RFC 3339 (or null), for rows.
pub fn time(t: Option<&prost_types::Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(t.to_string()))
}

pub fn role(value: i32) -> &'static str {
    match Role::try_from(value).unwrap_or(Role::Unspecified) {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
        Role::Viewer => "viewer",
        Role::Unspecified => "-",
    }
}

pub fn parse_role(text: &str) -> anyhow::Result<Role> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "owner" => Role::Owner,
        "admin" => Role::Admin,
        "member" => Role::Member,
        "viewer" => Role::Viewer,
        other => anyhow::bail!("unknown role {other:?}: owner, admin, member or viewer"),
    })
}

/// The class and text of the SDK error (or a stub's status) in the chain.
fn failure(err: &anyhow::Error) -> Option<(Code, String)> {
    err.chain().find_map(|e| {
        if let Some(status) = e.downcast_ref::<Status>() {
            let sdk = Error::from(status.clone());
            return Some((sdk.code(), sdk.to_string()));
        }
        e.downcast_ref::<Error>()
            .map(|sdk| (sdk.code(), sdk.to_string()))
    })
}

/// What to print for an error.
pub fn error(err: &anyhow::Error) -> String {
    failure(err).map_or_else(|| format!("{err:#}"), |(_, text)| text)
}

/// The exit code of an error's class (the README's table).
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let Some((code, _)) = failure(err) else {
        return 1;
    };
    match code {
        Code::InvalidArgument
        | Code::OutOfRange
        | Code::FailedPrecondition
        | Code::AlreadyExists => 3,
        Code::Unauthenticated | Code::PermissionDenied => 4,
        Code::NotFound => 5,
        Code::Unavailable | Code::ResourceExhausted | Code::DeadlineExceeded => 6,
        Code::DataLoss => 7,
        _ => 1,
    }
}
