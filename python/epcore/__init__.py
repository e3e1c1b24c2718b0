"""epcore: what each LLM token really costs in joules, money and carbon.

>>> import epcore
>>> epcore.steady_state(power_w=5600, tokens_per_s=2500).joules_per_token
2.24
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._core import Options, Partial, __version__
from .attribution import Attribution, RegressionEstimate, RequestEnergies, SteadyStateWindow, attribute
from .batch import BatchQuality, BatchResult, batch, batch_output_names
from .carbon import (GRID_REGIONS, CarbonResult, CostResult, GridIntensity, IntervalSeries, carbon,
                     electricity_cost, grid_intensity, grid_regions, read_intensity, read_prices)
from .currency import CURRENCIES, Rates, format_money
from .economics import SteadyState, SteadyStateFigures, steady_state
from .exceptions import ConfigError, EpcoreError, ParseError, SchemaError, TraceError, UnitError
from .files import integrate_file
from .integration import COUNTER_UNITS_J, integrate, merge, options, partial
from .quality import QualityReport
from .request_logs import Requests, read_requests
from .results import ChannelEnergy, IntegrationResult
from .run_summaries import RunSummaries, RunSummary, read_runs
from .scenarios import (
    Crossover,
    Fleet,
    FleetRange,
    Floor,
    Interval,
    Scenario,
    Sensitivity,
    SteadyStateRange,
    api_floor,
    crossover,
    fleet,
    fleet_range,
    sensitivity,
    steady_state_range,
)
from .token_counters import ModelTokenTotals, TokenCounters, read_token_counters
from .trace import FORMATS, ChannelSamples, PowerTrace, read_power

if TYPE_CHECKING:
    from .record import NvmlSource, PowerSource, RaplSource, RecordReport, Recorder, ReplaySource, SourceEnded

__all__ = [
    "NvmlSource",
    "PowerSource",
    "RaplSource",
    "RecordReport",
    "Recorder",
    "ReplaySource",
    "SourceEnded",
    "BatchQuality",
    "BatchResult",
    "batch",
    "batch_output_names",
    "CURRENCIES",
    "Rates",
    "format_money",
    "Attribution",
    "COUNTER_UNITS_J",
    "ChannelEnergy",
    "ChannelSamples",
    "ConfigError",
    "EpcoreError",
    "FORMATS",
    "IntegrationResult",
    "ModelTokenTotals",
    "Options",
    "ParseError",
    "Partial",
    "PowerTrace",
    "QualityReport",
    "RegressionEstimate",
    "RequestEnergies",
    "RunSummaries",
    "RunSummary",
    "Requests",
    "SchemaError",
    "SteadyState",
    "SteadyStateFigures",
    "SteadyStateWindow",
    "TokenCounters",
    "TraceError",
    "UnitError",
    "__version__",
    "attribute",
    "integrate",
    "integrate_file",
    "merge",
    "options",
    "partial",
    "read_power",
    "read_runs",
    "read_requests",
    "read_token_counters",
    "steady_state",
    "Crossover",
    "Fleet",
    "FleetRange",
    "Floor",
    "Interval",
    "Scenario",
    "Sensitivity",
    "SteadyStateRange",
    "api_floor",
    "crossover",
    "fleet",
    "fleet_range",
    "sensitivity",
    "steady_state_range",
    "GRID_REGIONS",
    "CarbonResult",
    "CostResult",
    "GridIntensity",
    "IntervalSeries",
    "carbon",
    "electricity_cost",
    "grid_intensity",
    "grid_regions",
    "read_intensity",
    "read_prices",
]

#: Live recording is imported on first use, so `import epcore` stays cheap (and never imports pynvml).
_RECORD = ("NvmlSource", "PowerSource", "RaplSource", "RecordReport", "Recorder", "ReplaySource", "SourceEnded")


def __getattr__(name: str) -> Any:
    if name in _RECORD:
        from . import record

        return getattr(record, name)
    raise AttributeError(f"module 'epcore' has no attribute {name!r}")
