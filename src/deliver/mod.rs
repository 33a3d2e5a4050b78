//! Delivery: the message of each recipient, the transports that carry it,
//! subscribers, the send ledger and unsubscribe tokens.

pub mod message;
pub mod token;
