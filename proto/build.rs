//! Compiles the contract with protox (pure Rust, no system `protoc`), keeps the
//! descriptor set for gRPC reflection and generates messages plus both stubs.

use std::{env, fs, path::PathBuf};

use protox::prost::Message as _;

const PROTOS: &[&str] = &[
    "tenantry/auth/v1/auth.proto",
    "tenantry/org/v1/org.proto",
    "tenantry/audit/v1/audit.proto",
    "tenantry/file/v1/file.proto",
    "tenantry/sso/v1/sso.proto",
    "tenantry/serviceaccount/v1/serviceaccount.proto",
];

const ERROR_DETAILS: &str = "google/rpc/error_details.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let fds = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("tenantry_descriptor.bin"), fds.encode_to_vec())?;
    // The error details every error may carry, for reflection only: the Rust
    // types come from tonic-types.
    println!("cargo:rerun-if-changed=../proto-vendor/{ERROR_DETAILS}");
    let details = protox::compile([ERROR_DETAILS], ["../proto-vendor"])?;
    fs::write(out_dir.join("error_details.bin"), details.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .codec_path("crate::codec::ValidatingCodec")
        // File chunks pass through without a copy.
        .bytes(".tenantry.file.v1")
        .compile_fds(fds)?;
    Ok(())
}
