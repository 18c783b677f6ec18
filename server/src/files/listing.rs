//! ListFiles: the filter a request asks for (checked, with every violation
//! at once) and the one query that answers it.

use chrono::NaiveDateTime;
use diesel::{
    BoolExpressionMethods as _, EscapeExpressionMethods as _, ExpressionMethods as _,
    QueryDsl as _, RunQueryDsl as _, SelectableHelper as _, TextExpressionMethods as _,
};
use tenantry_proto::file::v1 as pb;

use super::rules;
use crate::{
    clock::from_proto,
    db::{
        Tenant,
        rows::FileRow,
        schema::{file_labels, files},
    },
    error::{ApiResult, Violations},
    paging::{Page, time_key},
};

/// What to list, as checked from a ListFilesRequest.
#[derive(Debug, Clone)]
pub struct FileFilter {
    name_prefix: String,
    content_type: String,
    /// `key`, or `key=value`.
    label: Option<(String, Option<String>)>,
    uploader: Option<crate::ids::UserId>,
    created_after: Option<NaiveDateTime>,
    created_before: Option<NaiveDateTime>,
    by_name: bool,
}

impl FileFilter {
    pub fn parse(request: &pb::ListFilesRequest) -> ApiResult<Self> {
        let mut violations = Violations::new();
        let label = violations
            .take("label", rules::label_filter(&request.label))
            .flatten();
        let uploader = if request.uploader_user_id.is_empty() {
            None
        } else {
            violations.take(
                "uploader_user_id",
                crate::ids::UserId::parse(&request.uploader_user_id),
            )
        };
        let mut time = |field: &str, value: Option<&prost_types::Timestamp>| {
            let parsed = value.map(from_proto);
            if let Some(None) = parsed {
                violations.add(field, "is not a valid time");
            }
            parsed.flatten()
        };
        let created_after = time("created_after", request.created_after.as_ref());
        let created_before = time("created_before", request.created_before.as_ref());
        let by_name = match pb::FileOrder::try_from(request.order) {
            Ok(order) => order == pb::FileOrder::NameAsc,
            Err(_) => {
                violations.add("order", "is not a known order");
                false
            }
        };
        for (field, value) in [
            ("name_prefix", &request.name_prefix),
            ("content_type", &request.content_type),
        ] {
            if value.len() > 255 || value.chars().any(char::is_control) {
                violations.add(
                    field,
                    "must be at most 255 bytes, without control characters",
                );
            }
        }
        violations.finish()?;
        Ok(Self {
            name_prefix: request.name_prefix.clone(),
            content_type: request.content_type.to_ascii_lowercase(),
            label,
            uploader,
            created_after,
            created_before,
            by_name,
        })
    }

    /// The sort key and id a page token carries for a file.
    pub fn cursor_of(&self, file: &FileRow) -> Vec<String> {
        if self.by_name {
            vec![file.name.clone(), file.id.clone()]
        } else {
            vec![time_key(file.created_at), file.id.clone()]
        }
    }
}

type FileQuery<'a> = crate::db::BoxedFiles<'a>;

fn escape_like(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            '\\' | '%' | '_' => vec!['\\', c],
            _ => vec![c],
        })
        .collect()
}

/// One page of the organization's live files that match `filter`.
pub fn list_files(t: &mut Tenant<'_>, filter: &FileFilter, page: &Page) -> ApiResult<Vec<FileRow>> {
    let query = t
        .files()
        .filter(files::deleted_at.is_null())
        .select(FileRow::as_select())
        .limit(page.limit())
        .into_boxed();
    let query = by_label(
        t,
        by_content_type(by_name_prefix(query, filter), filter),
        filter,
    );
    let mut query = by_uploader_and_time(query, filter);
    // Cursors are written as a range bound plus a tie-break, so an index
    // range scan starts right at the cursor (deep pages cost what the first
    // one does).
    query = if filter.by_name {
        if let Some((name, id)) = page.after_text_and_id()? {
            query = query
                .filter(files::name.ge(name.clone()))
                .filter(files::name.gt(name).or(files::id.gt(id)));
        }
        query.order((files::name.asc(), files::id.asc()))
    } else {
        if let Some((time, id)) = page.after_time_and_id()? {
            query = query
                .filter(files::created_at.le(time))
                .filter(files::created_at.lt(time).or(files::id.lt(id)));
        }
        query.order((files::created_at.desc(), files::id.desc()))
    };
    Ok(query.load(t.conn())?)
}

fn by_name_prefix<'a>(query: FileQuery<'a>, filter: &FileFilter) -> FileQuery<'a> {
    if filter.name_prefix.is_empty() {
        return query;
    }
    let pattern = format!("{}%", escape_like(&filter.name_prefix));
    query.filter(files::name.like(pattern).escape('\\'))
}

/// `type/subtype` matches with or without parameters; `type/*` the family.
fn by_content_type<'a>(query: FileQuery<'a>, filter: &FileFilter) -> FileQuery<'a> {
    let wanted = &filter.content_type;
    if let Some(family) = wanted.strip_suffix("/*") {
        let pattern = format!("{}/%", escape_like(family));
        return query.filter(files::declared_content_type.like(pattern).escape('\\'));
    }
    if wanted.is_empty() {
        return query;
    }
    let with_parameters = format!("{};%", escape_like(wanted));
    query.filter(
        files::declared_content_type
            .eq(wanted.clone())
            .or(files::declared_content_type
                .like(with_parameters)
                .escape('\\')),
    )
}

fn by_label<'a>(t: &Tenant<'_>, query: FileQuery<'a>, filter: &FileFilter) -> FileQuery<'a> {
    let Some((key, value)) = &filter.label else {
        return query;
    };
    // (Two arms: a boxed subquery cannot serve both databases.)
    let labelled = t.file_labels().filter(file_labels::key.eq(key.clone()));
    match value {
        Some(value) => query.filter(
            files::id.eq_any(
                labelled
                    .filter(file_labels::value.eq(value.clone()))
                    .select(file_labels::file_id),
            ),
        ),
        None => query.filter(files::id.eq_any(labelled.select(file_labels::file_id))),
    }
}

fn by_uploader_and_time<'a>(mut query: FileQuery<'a>, filter: &FileFilter) -> FileQuery<'a> {
    if let Some(uploader) = &filter.uploader {
        query = query.filter(files::uploader_id.eq(uploader.clone()));
    }
    if let Some(t) = filter.created_after {
        query = query.filter(files::created_at.ge(t));
    }
    if let Some(t) = filter.created_before {
        query = query.filter(files::created_at.lt(t));
    }
    query
}
