mod log;
mod tampering;
