#![no_main]
//! The dmon reader: never a panic, and the same result at any chunk size.
use epcore_core::read::Format;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
mod common;

fuzz_target!(|data: &[u8]| common::power(Some(Format::NvidiaSmiDmon), data));
