//! dmp's integration tests: one binary (as ripgrep does), run against a real
//! Docker Engine and the real `dmp` binary. Without an Engine, Engine tests
//! say they are skipped, unless `CI=true` or `DMP_REQUIRE_DOCKER=1` makes that a
//! failure.

mod cli;
mod compose_commands;
mod compose_corpus;
mod compose_labels;
mod config;
mod contract;
mod corpus;
mod endpoint;
mod faults;
mod frontend;
mod images;
mod loopback;
mod pull_policy;
mod reliability;
mod runtime_keys;
mod serving;
mod stack;
mod support;
mod watch;
mod workflow;
