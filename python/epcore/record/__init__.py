"""Live recording: sample GPU power and energy counters while a workload runs.

``epcore.Recorder`` samples a :class:`PowerSource` (NVML GPUs, RAPL, or a
replayed file) on a background thread at a fixed interval, streams the
samples to Parquet or CSV in the canonical schema, and reports energy from the
counters and from integrated power side by side. Importing this package does
not import pynvml (the NVML source imports it when opened).
"""

from __future__ import annotations

from .auto import SOURCES, open_source
from .nvml import NvmlSource, nvml_available, visible_gpus
from .rapl import RaplSource
from .recorder import Recorder
from .replay import ReplaySource
from .report import ChannelReport, RecordReport
from .sampler import Sampler, SamplerStats, Sink
from .source import ChannelInfo, PowerSource, Reading, SourceEnded, SourceInfo
from .writer import (CsvWriter, MemorySink, ParquetWriter, Tee, Writer, columns_for, journal_path, meta_path,
                     open_writer, read_metadata, recover)

__all__ = [
    "ChannelInfo", "ChannelReport", "CsvWriter", "MemorySink", "NvmlSource", "ParquetWriter", "PowerSource",
    "RaplSource", "Reading", "RecordReport", "Recorder", "ReplaySource", "SOURCES", "Sampler", "SamplerStats",
    "Sink", "SourceEnded", "SourceInfo", "Tee", "Writer", "columns_for", "journal_path", "meta_path",
    "nvml_available", "open_source", "open_writer", "read_metadata", "recover", "visible_gpus",
]
