mod dedup;
mod isolation;
mod janitor;
mod limits;
mod manage;
mod resumable;
mod round_trip;
mod urls;
