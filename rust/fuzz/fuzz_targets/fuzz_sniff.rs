#![no_main]
//! Format sniffing and decompression (gzip, zstd) on arbitrary bytes: whatever
//! reader the content picks must fail cleanly or read it the same at any chunk size.
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| common::power(None, data));
