mod config;
mod flow;
mod linking;
mod policy;
mod provisioning;
