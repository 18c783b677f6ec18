//! A real S3-protocol server in-process on loopback (`s3s-fs`: files on disk
//! behind the S3 API, with signature checks), one per test app.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
};
use s3s::{auth::SimpleAuth, service::S3ServiceBuilder};

pub const BUCKET: &str = "tenantry";
pub const ACCESS_KEY: &str = "tenantry-test";
pub const SECRET_KEY: &str = "tenantry-test-secret";

pub struct S3Server {
    pub addr: SocketAddr,
    root: tempfile::TempDir,
    /// The accept loop and every connection, so `stop` ends them all.
    tasks: Tasks,
}

type Tasks = Arc<Mutex<tokio::task::JoinSet<()>>>;

impl S3Server {
    pub async fn start() -> Self {
        let root = tempfile::tempdir().expect("s3 root");
        // s3s-fs keeps each bucket as a folder.
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind s3");
        let server = Self {
            addr: listener.local_addr().expect("s3 addr"),
            root,
            tasks: Tasks::default(),
        };
        server.serve(listener);
        server
    }

    /// Stops answering, as a crashed S3 server would: the port is closed and
    /// open connections are cut.
    pub fn stop(&self) {
        self.tasks.lock().unwrap().abort_all();
    }

    /// Serves again on the same address, with the same objects.
    pub async fn restart(&self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind s3");
        self.serve(listener);
    }

    fn serve(&self, listener: tokio::net::TcpListener) {
        let fs = s3s_fs::FileSystem::new(self.root.path()).expect("s3s-fs");
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let service = builder.build();
        let tasks = self.tasks.clone();
        self.tasks.lock().unwrap().spawn(async move {
            let http = Builder::new(TokioExecutor::new());
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let connection = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tasks.lock().unwrap().spawn(async move {
                    let _ = connection.await;
                });
            }
        });
    }

    /// Multipart uploads begun and neither completed nor aborted (s3s-fs
    /// keeps one `.upload-<id>.json` per open upload in its root).
    pub fn open_multipart_uploads(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".upload"))
                    .count()
            })
            .unwrap_or(0)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
