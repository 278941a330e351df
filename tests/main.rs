//! One integration-test binary: end-to-end through the `iamtrim` executable.

mod attachable;
mod attribution;
mod aws_lookup;
mod bad_input;
mod batch;
mod catalog;
mod contract;
mod diff;
mod evidence;
mod failed_calls;
mod implied;
mod kubernetes;
mod observe;
mod partials;
mod perimeter;
mod real_data;
mod recommend;
mod resources;
mod roles;
mod s3;
mod shell;
mod synthesis;
mod util;

/// The benchmark trail generator, for tests that need a realistic multi-day trail.
#[path = "../examples/gen_bench_trail.rs"]
#[allow(dead_code)]
mod gen_bench_trail;
