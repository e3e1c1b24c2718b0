//! The formats epcore reads, content sniffing, and the one place that maps a
//! format to its reader.

use crate::error::{Error, Result};
use crate::read::source::Source;
use crate::read::{
    codecarbon, csv, dmon, nvidia_smi, prometheus_json, prometheus_text, rapl, zeus,
};
use crate::read::{PowerReader, ReadConfig};

/// A power or energy file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `timestamp_ns|time_s, power_w|power_mw|energy_j|energy_mj[, channel]`.
    Csv,
    /// `nvidia-smi --query-gpu=... --format=csv`.
    NvidiaSmi,
    /// `nvidia-smi dmon`.
    NvidiaSmiDmon,
    /// Zeus / NVML-style `Time,Power` CSV (mW).
    Zeus,
    /// Prometheus text exposition scrapes (DCGM exporter).
    PrometheusText,
    /// Prometheus `query_range` / `query` JSON.
    PrometheusJson,
    /// Linux RAPL `energy_uj` logs.
    Rapl,
    /// CodeCarbon `emissions.csv`: energy per run.
    CodeCarbon,
}

impl Format {
    /// Every format, in sniffing order (most specific first).
    pub const ALL: [Format; 8] = [
        Format::PrometheusJson,
        Format::NvidiaSmiDmon,
        Format::PrometheusText,
        Format::CodeCarbon,
        Format::NvidiaSmi,
        Format::Zeus,
        Format::Rapl,
        Format::Csv,
    ];

    /// The name users type (`format="nvidia-smi"`).
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::NvidiaSmi => "nvidia-smi",
            Format::NvidiaSmiDmon => "nvidia-smi-dmon",
            Format::Zeus => "zeus",
            Format::PrometheusText => "prometheus",
            Format::PrometheusJson => "prometheus-json",
            Format::Rapl => "rapl",
            Format::CodeCarbon => "codecarbon",
        }
    }

    pub fn parse(s: &str) -> Result<Format> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match norm.as_str() {
            "dmon" => Some(Format::NvidiaSmiDmon),
            "dcgm" | "prom" | "prometheus-text" => Some(Format::PrometheusText),
            "query-range" | "prom-json" => Some(Format::PrometheusJson),
            "nvml" => Some(Format::Zeus),
            _ => None,
        };
        alias
            .or_else(|| Format::ALL.iter().copied().find(|f| f.name() == norm))
            .ok_or_else(|| Error::InvalidArgument {
                name: "format".into(),
                value: s.into(),
                reason: format!(
                    "unknown format; expected one of: {}, parquet",
                    Format::ALL.map(|f| f.name()).join(", ")
                ),
            })
    }

    fn sniffs(&self, head: &[u8]) -> bool {
        match self {
            Format::Csv => csv::sniff(head),
            Format::NvidiaSmi => nvidia_smi::sniff(head),
            Format::NvidiaSmiDmon => dmon::sniff(head),
            Format::Zeus => zeus::sniff(head),
            Format::PrometheusText => prometheus_text::sniff(head),
            Format::PrometheusJson => prometheus_json::sniff(head),
            Format::Rapl => rapl::sniff(head),
            Format::CodeCarbon => codecarbon::sniff(head),
        }
    }
}

/// The format the first decoded bytes of a file show, if any.
pub fn sniff(head: &[u8]) -> Option<Format> {
    Format::ALL.iter().copied().find(|f| f.sniffs(head))
}

/// Open `src` with the reader of `format` (the header is read here).
pub fn open(format: Format, src: Source, cfg: &ReadConfig) -> Result<Box<dyn PowerReader>> {
    match format {
        Format::Csv => csv::open(src, cfg),
        Format::NvidiaSmi => nvidia_smi::open(src, cfg),
        Format::NvidiaSmiDmon => dmon::open(src, cfg),
        Format::Zeus => zeus::open(src, cfg),
        Format::PrometheusText => prometheus_text::open(src, cfg),
        Format::PrometheusJson => prometheus_json::open(src, cfg),
        Format::Rapl => rapl::open(src, cfg),
        Format::CodeCarbon => codecarbon::open(src, cfg),
    }
}
