//! iamtrim: least-privilege IAM policies from CloudTrail, per Kubernetes service account.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! source ──► decode ──► attribute ──► map ──► aggregate ──► synth ──► report
//! (dir)      (gzip →     (caller,      (event →  (per file,     (policy    (JSON, text,
//!             records)    vending)      actions)  then the       per        policy files)
//!                                                 session join)  workload)
//! ```
//!
//! `ingest` runs source → aggregate on a thread pool; `lookup` brings account facts the join uses
//! (cluster names, Pod Identity associations, trust policies) from snapshot files or the AWS APIs.
//! Flags and `iamtrim.toml` become `settings::Settings` in one step; `pipeline` composes the
//! stages for every command; `commands` print; `exit` owns exit codes. See docs/ARCHITECTURE.md.

pub mod aggregate;
#[cfg(test)]
mod alloc_count;
pub mod atomic;
pub mod attribute;
pub mod aws;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod decode;
pub mod dedup;
pub mod diff;
pub mod errors;
pub mod evidence;
pub mod exit;
pub mod hash;
pub mod ingest;
pub mod k8s;
pub mod lookup;
pub mod map;
pub mod observe;
pub mod partials;
pub mod pipeline;
pub mod policy;
pub mod report;
pub mod settings;
pub mod source;
pub mod stats;
#[cfg(feature = "store")]
pub mod store;
pub mod synth;
pub mod window;
