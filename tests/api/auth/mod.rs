mod account;
mod inputs;
mod lockout;
mod sessions;
mod tampering;
mod tokens;
