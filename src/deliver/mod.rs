//! Delivery: the message of each recipient, the transports that carry it,
//! subscribers, the send ledger and unsubscribe tokens.

pub mod address;
pub mod bounces;
pub mod dkim;
pub mod dkim_keys;
pub mod import;
pub mod interrupt;
pub mod lock;
pub mod message;
pub mod send;
pub mod sendmail;
pub mod smtp;
pub mod store;
pub mod token;
pub mod transport;
