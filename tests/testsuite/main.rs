//! The integration tests: the real `publish` binary run on fixture workspaces.

mod architecture;
mod audience;
mod build;
mod check;
mod cron;
mod curate;
mod email;
mod hostile;
mod insight;
mod kept;
mod kills;
mod podcast;
mod preview;
mod refusals;
mod relays;
mod send;
mod serve;
mod shared_state;
mod social;
mod subscribers;
mod support;
mod tooling;
