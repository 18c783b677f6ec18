//! `baseline-server`: a bare tonic server with the same tonic version and
//! runtime settings as Tenantry, serving an echo, a byte sink, a byte
//! source and a store (hash, write, fsync) — the floor the benchmarks measure Tenantry against.

use std::pin::Pin;

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use tenantry_tests::baseline::{
    EchoRequest, EchoResponse, SinkRequest, SinkResponse, SourceRequest, SourceResponse,
    StoreRequest, StoreResponse,
    baseline_service_server::{BaselineService, BaselineServiceServer},
};
use tonic::{Request, Response, Status, Streaming};

struct Baseline;

#[tonic::async_trait]
impl BaselineService for Baseline {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        Ok(Response::new(EchoResponse {
            text: request.into_inner().text,
        }))
    }

    async fn sink(
        &self,
        request: Request<Streaming<SinkRequest>>,
    ) -> Result<Response<SinkResponse>, Status> {
        let mut stream = request.into_inner();
        let mut received = 0_i64;
        while let Some(message) = stream.message().await? {
            received += message.chunk.len() as i64;
        }
        Ok(Response::new(SinkResponse { received }))
    }

    /// Hashes each chunk as it arrives while a blocking thread writes the
    /// one before (as Tenantry's local store does), then fsyncs.
    async fn store(
        &self,
        request: Request<Streaming<StoreRequest>>,
    ) -> Result<Response<StoreResponse>, Status> {
        let mut stream = request.into_inner();
        let Some(first) = stream.message().await? else {
            return Err(Status::invalid_argument("no chunks"));
        };
        let path = std::path::Path::new(&first.directory)
            .join(format!("baseline-{}.bin", std::process::id()));
        let (chunks, mut to_write) = tokio::sync::mpsc::channel::<Bytes>(2);
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&path)?;
            while let Some(chunk) = to_write.blocking_recv() {
                file.write_all(&chunk)?;
            }
            file.sync_all()?;
            std::fs::remove_file(&path)
        });
        let (mut hasher, mut received) = (Sha256::new(), 0_i64);
        let mut next = Some(first);
        while let Some(message) = next {
            hasher.update(&message.chunk);
            received += message.chunk.len() as i64;
            if chunks.send(message.chunk).await.is_err() {
                break;
            }
            next = stream.message().await?;
        }
        drop(chunks);
        writer
            .await
            .map_err(|e| Status::internal(e.to_string()))??;
        Ok(Response::new(StoreResponse {
            received,
            sha256: hex::encode(hasher.finalize()),
        }))
    }

    type SourceStream = Pin<Box<dyn Stream<Item = Result<SourceResponse, Status>> + Send>>;

    async fn source(
        &self,
        request: Request<SourceRequest>,
    ) -> Result<Response<Self::SourceStream>, Status> {
        let request = request.into_inner();
        let chunk = Bytes::from(vec![7_u8; request.chunk_size.max(1) as usize]);
        let count = request.size / chunk.len() as i64;
        let stream = futures::stream::iter(0..count).map(move |_| {
            Ok(SourceResponse {
                chunk: chunk.clone(),
            })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

#[tokio::main]
async fn main() {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:50052".into());
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    println!("listening {}", listener.local_addr().expect("addr"));
    let service = BaselineServiceServer::new(Baseline).max_decoding_message_size(16 * 1024 * 1024);
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .add_service(service)
        .serve_with_incoming(incoming)
        .await
        .expect("serve");
}
