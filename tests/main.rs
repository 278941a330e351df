//! One integration-test binary: end-to-end through the `iamtrim` executable.

mod attribution;
mod aws_lookup;
mod bad_input;
mod catalog;
mod diff;
mod real_data;
mod recommend;
mod s3;
mod synthesis;
mod util;
