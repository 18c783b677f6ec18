mod config;
mod flow;
mod policy;
mod provisioning;
