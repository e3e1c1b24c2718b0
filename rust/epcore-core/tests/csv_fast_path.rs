//! The canonical CSV reader's fast paths against its general parser.
//!
//! Rows of the two-column file are read eight bytes at a time, or byte-wise
//! in one pass, or field by field; the fast paths only ever take a line they
//! read exactly as the general parser does, and hand anything else on. Here
//! random well-formed and malformed lines must give the same `(t, value)` on
//! every path that takes them, and whole files must give the rows, lines and
//! errors the general parser gives line by line, at any chunk size.
//!
//! Runs are deterministic (fixed seed); set `PROPTEST_RNG_SEED=<u64>` to
//! explore other seeds and `PROPTEST_CASES=<n>` for more cases.
#![allow(clippy::unwrap_used)]

use epcore_core::read::csv::row_every_way;
use epcore_core::read::{open_reader_bytes, Collector, Format, ReadConfig, ReadOptions};
use proptest::prelude::*;

mod common;

fn config(cases: u32) -> ProptestConfig {
    common::config(cases, 0x5EED_C5F0)
}

fn digits(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![3 => Just(b'0'), 10 => b'0'..=b'9', 1 => Just(b'9')],
        n,
    )
    .prop_map(|d| String::from_utf8(d).expect("generated from ASCII digits"))
}

/// `int[.frac]`, with digit counts around every limit (18/19 integer digits,
/// 9/10 decimals, 15/16 significant digits).
fn decimal(int: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    (
        digits(int),
        proptest::option::weighted(0.8, digits(0..=11)),
        any::<bool>(),
    )
        .prop_map(|(i, f, neg)| {
            let sign = if neg { "-" } else { "" };
            match f {
                Some(f) => format!("{sign}{i}.{f}"),
                None => format!("{sign}{i}"),
            }
        })
}

/// Integer parts that rows of one file share, of lengths around the limits
/// of the shortcuts that reuse an earlier row's leading bytes.
fn shared_whole() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "1717000000",
        "1717000001",
        "171700000",
        "17170000001",
        "17170000",
        "0",
        "5",
        "123456789012",
        "1234567890123",
    ])
    .prop_map(str::to_string)
}

/// A row as a writer of the canonical file would write it, mostly.
fn well_formed() -> impl Strategy<Value = String> {
    (
        prop_oneof![4 => digits(10..=10), 4 => shared_whole(), 1 => digits(0..=20)],
        proptest::option::weighted(0.7, digits(0..=10)),
        prop_oneof![4 => digits(0..=4), 1 => digits(0..=17)],
        proptest::option::weighted(0.8, digits(0..=17)),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(ti, tf, vi, vf, neg)| {
            let t = match tf {
                Some(f) => format!("{ti}.{f}"),
                None => ti,
            };
            let v = match vf {
                Some(f) => format!("{vi}.{f}"),
                None => vi,
            };
            format!("{t},{}{v}", if neg { "-" } else { "" })
        })
}

/// A well-formed row with one byte inserted, replaced or removed.
fn malformed() -> impl Strategy<Value = Vec<u8>> {
    let noise = prop_oneof![
        Just(b' '),
        Just(b'\t'),
        Just(b'"'),
        Just(b'e'),
        Just(b'E'),
        Just(b'+'),
        Just(b'-'),
        Just(b'.'),
        Just(b','),
        Just(b'N'),
        Just(b'['),
        Just(b'/'),
        Just(b':'),
        Just(0x00u8),
        Just(0xB0u8),
        Just(0xFFu8),
        any::<u8>(),
    ];
    (well_formed(), any::<prop::sample::Index>(), noise, 0..3u8).prop_map(|(row, at, c, how)| {
        let mut b = row.into_bytes();
        let i = at.index(b.len() + 1);
        match how {
            0 => b.insert(i, c),
            1 if i < b.len() => b[i] = c,
            _ if i < b.len() => {
                b.remove(i);
            }
            _ => b.push(c),
        }
        b
    })
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => well_formed().prop_map(String::into_bytes),
        3 => malformed(),
        1 => decimal(0..=3).prop_map(|v| format!("1717000000123456789,{v}").into_bytes()),
        1 => prop_oneof![Just(b"".to_vec()), Just(b" ".to_vec()), Just(b"\t \t".to_vec())],
    ]
}

fn terminator() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![6 => Just(&b"\n"[..]), 2 => Just(&b"\r\n"[..]), 1 => Just(&b"\r"[..])]
}

proptest! {
    #![proptest_config(config(4096))]

    #[test]
    fn every_parser_that_takes_a_line_reads_it_alike(
        l in line(),
        end in prop_oneof![Just(&b""[..]), terminator()],
        rest in proptest::collection::vec(any::<u8>(), 0..24),
        ns: bool,
    ) {
        // Keep the line one line: its own terminator is `end`.
        let l: Vec<u8> = l.into_iter().filter(|&c| c != b'\n' && c != b'\r').collect();
        let text = [&l[..], end, &rest[..]].concat();
        let all = row_every_way(&text, ns);
        prop_assert!(all.agree(), "{:?} ({}): {:?}", String::from_utf8_lossy(&text), if ns { "ns" } else { "s" }, all);
    }

    #[test]
    fn well_formed_rows_take_the_eight_byte_path(row in well_formed()) {
        let text = format!("{row}\n1717000000.000001,1\n");
        let all = row_every_way(text.as_bytes(), false);
        prop_assert!(all.agree(), "{:?}: {:?}", text, all);
        // Whatever the byte-wise one-pass parser takes, the eight-byte one takes too
        // (apart from `.5`-style times, which it leaves to the others).
        if all.one_pass.is_some() && !row.starts_with('.') {
            prop_assert!(all.eight_bytes.is_some(), "{:?}: {:?}", text, all);
        }
    }
}

/// What reading a whole file gives: rows with their lines, then the error if any.
type Outcome = (
    Vec<(i64, u64, u64)>,
    Option<(
        String,
        Option<u64>,
        Option<u64>,
        Option<String>,
        Option<String>,
    )>,
);

fn read_file(body: &[u8], chunk: usize) -> Outcome {
    let cfg = ReadConfig {
        read: ReadOptions {
            chunk_bytes: chunk,
            ..ReadOptions::default()
        },
        ..ReadConfig::default()
    };
    let mut kept = Collector::default();
    let err = open_reader_bytes(body.to_vec(), "mem.csv", Some(Format::Csv), &cfg)
        .and_then(|mut r| r.read_rows(&mut kept, &mut |_| Ok(())))
        .err()
        .map(|e| {
            let at = e.location().cloned().unwrap_or_default();
            (
                e.code().to_string(),
                at.line,
                at.byte_offset,
                at.column,
                e.value(),
            )
        });
    let rows = kept
        .channels
        .iter()
        .flat_map(|c| (0..c.t_ns.len()).map(|i| (c.t_ns[i], c.value[i].to_bits(), c.line[i])))
        .collect();
    (rows, err)
}

/// The lines of a file after its header, split the way the reader does
/// (`\n`, `\r\n` or a bare `\r`); an unterminated last line is left out.
fn lines_of(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'\n' => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            b'\r' => {
                out.push(&body[start..i]);
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.split_off(1)
}

/// The rows the general parser reads line by line, up to the first line it
/// refuses (whose number comes second).
fn oracle(body: &[u8], ns: bool) -> (Vec<(i64, u64, u64)>, Option<u64>) {
    let mut rows = Vec::new();
    for (i, l) in lines_of(body).into_iter().enumerate() {
        let number = i as u64 + 2;
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match row_every_way(l, ns).general {
            Some((t, v)) => rows.push((t, v, number)),
            None => return (rows, Some(number)),
        }
    }
    (rows, None)
}

fn file(lines: &[(Vec<u8>, &[u8])], ns: bool) -> Vec<u8> {
    let mut body = if ns {
        b"timestamp_ns,power_w\n".to_vec()
    } else {
        b"time_s,power_w\n".to_vec()
    };
    for (l, end) in lines {
        body.extend_from_slice(l);
        body.extend_from_slice(end);
    }
    body
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn files_read_as_the_general_parser_reads_their_lines(
        lines in proptest::collection::vec(
            (prop_oneof![
                30 => well_formed().prop_map(String::into_bytes),
                6 => (digits(8..=12), decimal(0..=3))
                    .prop_map(|(t, v)| format!("17170000{t},{v}").into_bytes()),
                1 => malformed(),
                2 => prop_oneof![Just(b"".to_vec()), Just(b" ".to_vec())],
            ].prop_map(|l| l.into_iter().filter(|&c| c != b'\n' && c != b'\r').collect::<Vec<u8>>()),
            terminator()),
            1..60),
        ns: bool,
    ) {
        let body = file(&lines, ns);
        let (want_rows, want_bad_line) = oracle(&body, ns);
        let got = read_file(&body, 1 << 20);
        prop_assert_eq!(&got.0, &want_rows);
        if let Some(line) = want_bad_line {
            let e = got.1.as_ref();
            prop_assert!(e.is_some_and(|e| e.1 == Some(line)), "{:?} at line {}", e, line);
        }
        for chunk in [7, 1] {
            prop_assert_eq!(&read_file(&body, chunk), &got, "chunk {}", chunk);
        }
    }
}

/// Large enough for the two-thread split and many chunks, with blank lines,
/// CRLF runs and a bad line near the end: same rows, lines and error at every chunk size.
#[test]
fn big_files_read_alike_at_any_chunk_size() {
    let mut lines: Vec<(Vec<u8>, &[u8])> = Vec::new();
    let mut t = 1_717_000_000_000_000u64;
    for i in 0..120_000u64 {
        t += 1 + (i * 7919) % 1000;
        let row = format!(
            "{}.{:06},{}.{:02}",
            t / 1_000_000,
            t % 1_000_000,
            50 + i % 400,
            i % 100
        );
        let end: &[u8] = if (i / 5000) % 3 == 1 { b"\r\n" } else { b"\n" };
        lines.push((row.into_bytes(), end));
        if i % 9973 == 0 {
            lines.push((Vec::new(), b"\n"));
        }
        if i % 31_337 == 0 {
            lines.push((
                format!("{}.{:06}, 7", t / 1_000_000, t % 1_000_000 + 1).into_bytes(),
                b"\n",
            ));
        }
    }
    let good = file(&lines, false);
    let (want, bad) = oracle(&good, false);
    assert_eq!(bad, None);
    let got = read_file(&good, 1 << 20);
    assert!(got.1.is_none(), "{:?}", got.1);
    assert_eq!(got.0, want);
    for chunk in [1 << 22, 300_007, 4093] {
        assert_eq!(read_file(&good, chunk), got, "chunk {chunk}");
    }
    let at = lines.len() - 100;
    lines[at].0 = b"1717999999.5,1O3".to_vec();
    let bad_body = file(&lines, false);
    let got = read_file(&bad_body, 1 << 20);
    let e = got.1.clone().expect("a bad value");
    assert_eq!((e.0.as_str(), e.1), ("bad_value", Some(at as u64 + 2)));
    assert_eq!(e.4.as_deref(), Some("1O3"));
    for chunk in [1 << 22, 300_007, 4093] {
        assert_eq!(read_file(&bad_body, chunk), got, "chunk {chunk}");
    }
}
