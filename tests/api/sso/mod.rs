mod config;
mod domains;
mod flow;
mod linking;
mod policy;
mod provisioning;
