#![no_main]
//! The csv request-log reader: never a panic, consistent rows, chunk-size invariant.
use epcore_core::requests::RequestFormat;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| common::requests(Some(RequestFormat::Csv), data));
