//! Integrate rows as they arrive, in constant memory.
//!
//! Each channel buffers at most one block of rows, cut at the same row
//! positions as [`crate::integrate`] cuts in-memory arrays, so a file read in
//! chunks of any size gives bit-for-bit the in-memory result. The gap
//! threshold is fixed from the channel's first [`GAP_HEAD_ROWS`] rows, which
//! the first block always holds.

use crate::read::sink::ChannelNames;

use crate::config::{Options, Resolved, GAP_HEAD_ROWS};
use crate::error::{Error, Result};
use crate::integrate::BLOCK_ROWS;
use crate::kernel::block_partial;
use crate::partial::Partial;

/// One channel's running state.
struct ChannelStream {
    opts: Options,
    acc: Option<Partial>,
    t: Vec<i64>,
    v: Vec<f64>,
    /// Source line of each pending row, to name it in errors.
    line: Vec<u64>,
    /// Channel row index of `t[0]`.
    rows_before: u64,
}

impl ChannelStream {
    fn new(opts: Options) -> Self {
        ChannelStream {
            opts,
            acc: None,
            t: Vec::with_capacity(BLOCK_ROWS),
            v: Vec::with_capacity(BLOCK_ROWS),
            line: Vec::with_capacity(BLOCK_ROWS),
            rows_before: 0,
        }
    }

    #[inline]
    fn push(&mut self, t_ns: i64, value: f64, line: u64) -> Result<()> {
        self.t.push(t_ns);
        self.v.push(value);
        self.line.push(line);
        if self.t.len() == BLOCK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Many rows at once, copied a block at a time; `line0 + rel[i]` is row i's line.
    fn push_rows(&mut self, t: &[i64], v: &[f64], line0: u64, rel: &[u32]) -> Result<()> {
        let mut at = 0;
        while at < t.len() {
            let take = (BLOCK_ROWS - self.t.len()).min(t.len() - at);
            self.t.extend_from_slice(&t[at..at + take]);
            self.v.extend_from_slice(&v[at..at + take]);
            self.line
                .extend(rel[at..at + take].iter().map(|&r| line0 + r as u64));
            at += take;
            if self.t.len() == BLOCK_ROWS {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn resolved(&mut self) -> Resolved {
        let head = &self.t[..self.t.len().min(GAP_HEAD_ROWS)];
        let opts = self.opts;
        self.acc
            .get_or_insert_with(|| Partial::new(opts.resolve(head)))
            .cfg
    }

    fn flush(&mut self) -> Result<()> {
        if self.t.is_empty() {
            return Ok(());
        }
        let cfg = self.resolved();
        let acc = self.acc.get_or_insert_with(|| Partial::new(cfg));
        let block = block_partial(&cfg, &self.t, &self.v, self.rows_before);
        let merged = block.and_then(|b| {
            let mut next = acc.clone();
            next.merge(&b).map(|_| next)
        });
        match merged {
            Ok(next) => *acc = next,
            Err(_) => {
                // Replay row by row so the error is the first one in file order,
                // whether it sits inside the block or at its boundary.
                let mut seq = acc.clone();
                for i in 0..self.t.len() {
                    if let Err(e) = seq.push(self.t[i], self.v[i], self.rows_before + i as u64) {
                        return Err(self.locate(e));
                    }
                }
                *acc = seq;
            }
        }
        self.rows_before += self.t.len() as u64;
        self.t.clear();
        self.v.clear();
        self.line.clear();
        Ok(())
    }

    /// Turn a channel row index into the source line.
    fn locate(&self, mut e: Error) -> Error {
        if let Some(at) = e.location_mut() {
            if let Some(idx) = at.index {
                let k = idx.checked_sub(self.rows_before).map(|k| k as usize);
                if let Some(line) = k.and_then(|k| self.line.get(k)) {
                    at.line = Some(*line);
                }
            }
        }
        e
    }

    fn finish(mut self) -> Result<Partial> {
        self.flush()?;
        Ok(match self.acc {
            Some(p) => p,
            None => Partial::new(self.opts.resolve(&[])),
        })
    }
}

/// Rows of any number of named channels, integrated as they stream past.
pub struct StreamIntegrator {
    opts: Options,
    names: ChannelNames,
    channels: Vec<ChannelStream>,
}

impl StreamIntegrator {
    pub fn new(opts: Options) -> Result<Self> {
        opts.validate()?;
        Ok(StreamIntegrator {
            opts,
            names: ChannelNames::default(),
            channels: Vec::new(),
        })
    }

    /// The channel id for a name, registering it on first sight (in order of appearance).
    pub fn channel_id(&mut self, name: &[u8]) -> usize {
        let (id, new) = self.names.id(name);
        if new {
            self.channels.push(ChannelStream::new(self.opts));
        }
        id
    }

    /// Feed one row of channel `id` (from [`channel_id`](Self::channel_id)).
    #[inline]
    pub fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        match self.channels.get_mut(id) {
            Some(c) => c.push(t_ns, value, line),
            None => Err(Error::InvalidArgument {
                name: "channel".into(),
                value: id.to_string(),
                reason: "unknown channel id".into(),
            }),
        }
    }

    /// Feed many rows of one channel: `t[i]`, `value[i]` from line `line0 + rel_line[i]`.
    pub fn push_rows(
        &mut self,
        id: usize,
        t: &[i64],
        value: &[f64],
        line0: u64,
        rel_line: &[u32],
    ) -> Result<()> {
        if t.len() != value.len() || t.len() != rel_line.len() {
            return Err(Error::LengthMismatch {
                what: "rows".into(),
                expected: t.len(),
                found: value.len(),
            });
        }
        match self.channels.get_mut(id) {
            Some(c) => c.push_rows(t, value, line0, rel_line),
            None => Err(Error::InvalidArgument {
                name: "channel".into(),
                value: id.to_string(),
                reason: "unknown channel id".into(),
            }),
        }
    }

    /// Integrate what is still buffered; errors of earlier rows come out here
    /// before a reader reports a later parse error.
    pub fn flush(&mut self) -> Result<()> {
        self.channels.iter_mut().try_for_each(|c| c.flush())
    }

    /// The partial of every channel, in order of first appearance.
    pub fn finish(self) -> Result<Vec<(String, Partial)>> {
        self.names
            .into_names()
            .into_iter()
            .zip(self.channels)
            .map(|(n, c)| Ok((n, c.finish()?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrate::partial_channel;

    #[test]
    fn streaming_equals_in_memory_bit_for_bit() {
        let n = 3 * BLOCK_ROWS + 77;
        let t: Vec<i64> = (0..n as i64)
            .map(|i| i * 1_000_000 + (i * 37) % 500_000)
            .collect();
        let v: Vec<f64> = (0..n)
            .map(|i| 60.0 + ((i * 13) % 640) as f64 * 0.97)
            .collect();
        let whole =
            partial_channel(&Options::default(), &t, &v, 2).expect("the test input is valid");
        let mut s = StreamIntegrator::new(Options::default()).expect("the test input is valid");
        let id = s.channel_id(b"gpu0");
        for i in 0..n {
            s.push(id, t[i], v[i], i as u64 + 2)
                .expect("the test input is valid");
        }
        let out = s.finish().expect("the test input is valid");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1, whole);
    }

    #[test]
    fn errors_name_the_source_line() {
        let mut s = StreamIntegrator::new(Options::default()).expect("the test input is valid");
        let id = s.channel_id(b"0");
        s.push(id, 0, 1.0, 2).expect("the test input is valid");
        s.push(id, 10, 1.0, 3).expect("the test input is valid");
        s.push(id, 5, 1.0, 7).expect("the test input is valid");
        let e = s.finish().expect_err("the test input is invalid");
        assert_eq!(e.code(), "unsorted_timestamps");
        assert_eq!(e.location().and_then(|l| l.line), Some(7));
    }
}
