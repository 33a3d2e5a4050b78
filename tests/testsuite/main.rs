//! The integration tests: the real `publish` binary run on fixture workspaces.

mod build;
mod check;
mod podcast;
mod support;
