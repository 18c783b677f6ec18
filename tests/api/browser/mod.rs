//! grpc-web from a real browser (headless Chromium): what a web app built on
//! Tenantry does, under the browser's CORS rules.

mod demo_app;
mod grpc_web;
mod over_tls;
