//! The integration tests: the real `publish` binary run on fixture workspaces.

mod build;
mod check;
mod cron;
mod curate;
mod send;
mod smtp;
mod subscribers;
mod support;
