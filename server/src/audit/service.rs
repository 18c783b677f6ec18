//! `tenantry.audit.v1.AuditService`.

use diesel::{ExpressionMethods as _, QueryDsl as _, RunQueryDsl as _, SelectableHelper as _};
use tenantry_proto::audit::v1::{self as pb, audit_service_server::AuditService};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{
    query::{Filter, apply_filter, to_proto_event},
    verify,
};
use crate::{
    context::caller,
    db::{TenantScope, rows::AuditEventRow, schema::audit_events},
    error::{ApiError, ApiResult},
    state::AppState,
};

const EXPORT_BATCH: i64 = 500;

#[derive(Clone)]
pub struct AuditApi {
    state: AppState,
}

impl AuditApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    async fn list(
        &self,
        scope: TenantScope,
        request: pb::ListAuditEventsRequest,
    ) -> ApiResult<pb::ListAuditEventsResponse> {
        let filter = Filter::parse(request.filter.clone())?;
        let page = self
            .state
            .page_tokens
            .parse(scope.org_id(), &request, 100, 500)?;
        let before = page.after_number()?;
        let (rows, next_page_token) = self
            .state
            .db
            .read(move |tx| {
                let mut t = tx.tenant(&scope)?;
                let mut query = apply_filter!(
                    t.audit_events()
                        .select(AuditEventRow::as_select())
                        .into_boxed(),
                    &filter
                );
                if let Some(seq) = before {
                    query = query.filter(audit_events::seq.lt(seq));
                }
                let rows: Vec<AuditEventRow> = query
                    .order(audit_events::seq.desc())
                    .limit(page.limit())
                    .load(t.conn())?;
                Ok(page.finish(rows, |r| vec![r.seq.to_string()]))
            })
            .await?;
        Ok(pb::ListAuditEventsResponse {
            events: rows.iter().map(to_proto_event).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let scope = caller(&request)?.tenant()?;
        Ok(Response::new(self.list(scope, request.into_inner()).await?))
    }

    type ExportAuditEventsStream = ReceiverStream<Result<pb::ExportAuditEventsResponse, Status>>;

    async fn export_audit_events(
        &self,
        request: Request<pb::ExportAuditEventsRequest>,
    ) -> Result<Response<Self::ExportAuditEventsStream>, Status> {
        let scope = caller(&request)?.tenant()?;
        let request = request.into_inner();
        let filter = Filter::parse(request.filter)?;
        if request.after_sequence < 0 {
            return Err(ApiError::invalid("after_sequence", "must not be negative").into());
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_BATCH as usize);
        let db = self.state.db.clone();
        tokio::spawn(async move {
            let mut after = request.after_sequence;
            loop {
                let (scope, filter) = (scope.clone(), filter.clone());
                let batch = db
                    .read(move |tx| {
                        let mut t = tx.tenant(&scope)?;
                        let query = apply_filter!(
                            t.audit_events()
                                .select(AuditEventRow::as_select())
                                .into_boxed(),
                            &filter
                        );
                        Ok(query
                            .filter(audit_events::seq.gt(after))
                            .order(audit_events::seq.asc())
                            .limit(EXPORT_BATCH)
                            .load::<AuditEventRow>(t.conn())?)
                    })
                    .await;
                let rows = match batch {
                    Ok(rows) => rows,
                    Err(err) => {
                        let _ = sender.send(Err(err.into())).await;
                        return;
                    }
                };
                let done = i64::try_from(rows.len()).unwrap_or(0) < EXPORT_BATCH;
                for row in &rows {
                    after = row.seq;
                    let message = pb::ExportAuditEventsResponse {
                        event: Some(to_proto_event(row)),
                    };
                    if sender.send(Ok(message)).await.is_err() {
                        return; // the caller went away
                    }
                }
                if done {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let scope = caller(&request)?.tenant()?;
        Ok(Response::new(
            verify::verify_audit_chain(&self.state.db, scope).await?,
        ))
    }
}
