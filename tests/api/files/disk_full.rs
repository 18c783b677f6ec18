//! The local blob store's disk fills up: the upload answers
//! RESOURCE_EXHAUSTED, no file appears, nothing half-written stays on the
//! disk, and the next upload that fits works. The disk is a 2 MiB tmpfs the
//! test mounts (so it runs as root, as CI does).

use std::path::{Path, PathBuf};

use tenantry_client::file::v1::ListFilesRequest;
use tenantry_tests::{Backend, TestApp, chunks, file_metadata, sha256_hex};
use tonic::Code;

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("a mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "NOT RUN: this test mounts a small tmpfs, which needs root ({status})"
        );
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Every file under `dir`, however deep.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_the_upload_and_keeps_nothing_of_it() {
    let disk = SmallDisk::mount("2m");
    let blobs = disk.path();
    let app = TestApp::builder(Backend::Sqlite)
        .configure(move |config| config.storage.blob_dir = Some(blobs))
        .start()
        .await;
    let team = app.team("acme").await;

    let too_big = vec![7_u8; 3 * 1024 * 1024];
    let refused = team
        .member
        .upload_parts(file_metadata("big.bin"), chunks(&too_big, 256 * 1024))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("out of space"), "{refused:?}");
    let listed = team
        .member
        .client
        .files()
        .list_files(ListFilesRequest::default())
        .await;
    let listed = listed.unwrap().into_inner().files;
    assert!(listed.is_empty(), "no file appears: {listed:?}");
    app.wait_for_no_unfinished_writes().await;
    assert_eq!(
        files_under(&disk.path()),
        Vec::<PathBuf>::new(),
        "nothing half-written"
    );

    let fits = vec![9_u8; 1024 * 1024];
    let stored = team.member.upload("fits.bin", &fits).await;
    let file = stored.file.expect("the file");
    assert_eq!(file.sha256, sha256_hex(&fits));
    assert_eq!(team.member.download(&file.id).await, fits);
}
