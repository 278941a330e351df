//! One integration-test binary: end-to-end through the `iamtrim` executable.

mod attribution;
mod bad_input;
mod catalog;
mod real_data;
mod recommend;
mod util;
