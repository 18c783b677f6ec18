//! What the SDK knows about each RPC, read from the API's own descriptors:
//! whether a retry is safe (`option idempotency_level`, declared per method
//! in `proto/`) and whether its request is a single message (so it can be
//! sent again).

use std::{collections::HashSet, sync::OnceLock};

use prost::Message as _;
use prost_types::{FileDescriptorSet, method_options::IdempotencyLevel};

#[derive(Debug, Default)]
pub(crate) struct Methods {
    idempotent: HashSet<String>,
    single_request: HashSet<String>,
}

impl Methods {
    /// The table, built once from `FILE_DESCRIPTOR_SET`.
    pub(crate) fn get() -> &'static Self {
        static METHODS: OnceLock<Methods> = OnceLock::new();
        METHODS.get_or_init(|| Self::from_descriptors(tenantry_proto::FILE_DESCRIPTOR_SET))
    }

    fn from_descriptors(bytes: &[u8]) -> Self {
        let mut methods = Self::default();
        let Ok(set) = FileDescriptorSet::decode(bytes) else {
            return methods;
        };
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let level = method
                        .options
                        .as_ref()
                        .map_or(IdempotencyLevel::IdempotencyUnknown, |o| {
                            o.idempotency_level()
                        });
                    if level != IdempotencyLevel::IdempotencyUnknown {
                        methods.idempotent.insert(path.clone());
                    }
                    if !method.client_streaming() {
                        methods.single_request.insert(path);
                    }
                }
            }
        }
        methods
    }

    /// Declared `NO_SIDE_EFFECTS` or `IDEMPOTENT`: safe to send again.
    pub(crate) fn is_idempotent(&self, path: &str) -> bool {
        self.idempotent.contains(path)
    }

    /// The request is one message, small enough to keep for a second try.
    pub(crate) fn has_single_request(&self, path: &str) -> bool {
        self.single_request.contains(path)
    }
}

#[cfg(test)]
mod tests {
    use super::Methods;

    #[test]
    fn reads_idempotency_and_streaming_from_the_api() {
        let methods = Methods::get();
        assert!(methods.is_idempotent("/tenantry.auth.v1.AuthService/GetMe"));
        assert!(methods.is_idempotent("/tenantry.file.v1.FileService/AppendUploadChunk"));
        assert!(!methods.is_idempotent("/tenantry.auth.v1.AuthService/Login"));
        assert!(!methods.is_idempotent("/tenantry.file.v1.FileService/DeleteFile"));
        assert!(methods.has_single_request("/tenantry.file.v1.FileService/Download"));
        assert!(!methods.has_single_request("/tenantry.file.v1.FileService/Upload"));
    }
}
