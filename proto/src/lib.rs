//! Tenantry's Protobuf contract, compiled once for the server and the client.
//!
//! Each area lives in its own module named after its package
//! (`tenantry.<area>.v1` → [`auth::v1`], [`org::v1`], …).

pub mod codec;

/// The encoded `FileDescriptorSet` of every Tenantry proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tenantry_descriptor.bin"));

/// The encoded `FileDescriptorSet` of `google/rpc/error_details.proto` (and
/// what it imports), so reflection clients can decode error details.
pub const ERROR_DETAILS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/error_details.bin"));

macro_rules! area {
    ($area:ident, $package:literal) => {
        #[doc = concat!("The `", $package, "` package.")]
        pub mod $area {
            #[allow(missing_docs, clippy::all, clippy::pedantic)]
            pub mod v1 {
                tonic::include_proto!($package);
            }
        }
    };
}

area!(auth, "tenantry.auth.v1");
area!(org, "tenantry.org.v1");
area!(audit, "tenantry.audit.v1");
area!(file, "tenantry.file.v1");
area!(sso, "tenantry.sso.v1");
area!(serviceaccount, "tenantry.serviceaccount.v1");
