//! Where readers put their rows: the streaming integrator, a collector that
//! keeps the samples (for `read_power`), or both at once.

use std::collections::HashMap;

use crate::error::Result;
use crate::stream::StreamIntegrator;

/// A consumer of canonical rows `(channel, t_ns, value, source line)`.
pub trait RowSink {
    /// The id of a channel name, registered on first sight (in order of appearance).
    fn channel_id(&mut self, name: &[u8]) -> usize;
    fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()>;
    /// Many rows of one channel: `t[i]`, `value[i]` from line `line0 + rel_line[i]`.
    fn push_rows(
        &mut self,
        id: usize,
        t: &[i64],
        value: &[f64],
        line0: u64,
        rel_line: &[u32],
    ) -> Result<()> {
        for i in 0..t.len() {
            self.push(id, t[i], value[i], line0 + rel_line[i] as u64)?;
        }
        Ok(())
    }
    /// Integrate what is buffered, so errors of earlier rows surface before a
    /// reader reports a parse error further on.
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl RowSink for StreamIntegrator {
    fn channel_id(&mut self, name: &[u8]) -> usize {
        StreamIntegrator::channel_id(self, name)
    }
    fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        StreamIntegrator::push(self, id, t_ns, value, line)
    }
    fn push_rows(
        &mut self,
        id: usize,
        t: &[i64],
        value: &[f64],
        line0: u64,
        rel_line: &[u32],
    ) -> Result<()> {
        StreamIntegrator::push_rows(self, id, t, value, line0, rel_line)
    }
    fn flush(&mut self) -> Result<()> {
        StreamIntegrator::flush(self)
    }
}

/// Channel names in order of first appearance, and the id of each: the one
/// registry every sink keeps, so that ids agree between sinks fed the same rows.
#[derive(Debug, Default, Clone)]
pub struct ChannelNames {
    index: HashMap<Vec<u8>, usize>,
    names: Vec<String>,
}

impl ChannelNames {
    /// The id of `name`, and whether it was seen for the first time.
    pub fn id(&mut self, name: &[u8]) -> (usize, bool) {
        if let Some(&id) = self.index.get(name) {
            return (id, false);
        }
        let id = self.names.len();
        self.index.insert(name.to_vec(), id);
        self.names.push(String::from_utf8_lossy(name).into_owned());
        (id, true)
    }

    /// The names, by id.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}

/// The samples of one channel, as read (missing readings included as NaN).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub name: String,
    pub t_ns: Vec<i64>,
    pub value: Vec<f64>,
    pub line: Vec<u64>,
}

/// Keeps every row, by channel.
#[derive(Debug, Default)]
pub struct Collector {
    names: ChannelNames,
    pub channels: Vec<Samples>,
}

impl RowSink for Collector {
    fn channel_id(&mut self, name: &[u8]) -> usize {
        let (id, new) = self.names.id(name);
        if new {
            self.channels.push(Samples {
                name: String::from_utf8_lossy(name).into_owned(),
                ..Samples::default()
            });
        }
        id
    }
    fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        if let Some(c) = self.channels.get_mut(id) {
            c.t_ns.push(t_ns);
            c.value.push(value);
            c.line.push(line);
        }
        Ok(())
    }
    fn push_rows(
        &mut self,
        id: usize,
        t: &[i64],
        value: &[f64],
        line0: u64,
        rel_line: &[u32],
    ) -> Result<()> {
        if let Some(c) = self.channels.get_mut(id) {
            c.t_ns.extend_from_slice(t);
            c.value.extend_from_slice(value);
            c.line.extend(rel_line.iter().map(|&r| line0 + r as u64));
        }
        Ok(())
    }
}

/// Two sinks fed the same rows. Channel ids agree because both register
/// names in the same order.
pub struct Tee<'a, 'b>(pub &'a mut dyn RowSink, pub &'b mut dyn RowSink);

impl RowSink for Tee<'_, '_> {
    fn channel_id(&mut self, name: &[u8]) -> usize {
        let id = self.0.channel_id(name);
        let other = self.1.channel_id(name);
        debug_assert_eq!(id, other);
        id
    }
    fn push(&mut self, id: usize, t_ns: i64, value: f64, line: u64) -> Result<()> {
        self.0.push(id, t_ns, value, line)?;
        self.1.push(id, t_ns, value, line)
    }
    fn push_rows(
        &mut self,
        id: usize,
        t: &[i64],
        value: &[f64],
        line0: u64,
        rel_line: &[u32],
    ) -> Result<()> {
        self.0.push_rows(id, t, value, line0, rel_line)?;
        self.1.push_rows(id, t, value, line0, rel_line)
    }
    fn flush(&mut self) -> Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}
