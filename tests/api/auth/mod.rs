mod account;
mod fair_lockout;
mod inputs;
mod lockout;
mod password_reset;
mod sessions;
mod tampering;
mod tokens;
