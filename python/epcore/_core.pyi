# Type stubs of the Rust extension, checked against it by mypy.stubtest (tests/test_stubs.py).
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "__version__",
    "batch_convert",
    "batch_default_outputs",
    "batch_output_names",
    "bundled_rates",
    "currency_decimals",
    "currency_table",
    "format_money",
    "fx_convert",
    "fx_rate",
    "parse_ecb_text",
    "rates_from_mapping",
    "read_ecb_history",
    "read_ecb_rates",
    "attribute",
    "Options",
    "Partial",
    "integrate_channel",
    "integrate_path",
    "sniff_format",
    "forked_from_pool_owner",
    "StreamIntegrator",
    "integrate_windows",
    "partial_channel",
    "read_requests",
    "read_token_counters",
    "seconds_to_ns",
    "sniff_requests",
    "api_floor",
    "crossover",
    "fleet",
    "fleet_range",
    "sensitivity",
    "steady_state_range",
    "steady_state",
    "grid_intensity",
    "grid_regions",
    "read_series",
    "series_from_labels",
    "integrate_series",
    "integrate_constant",
]

@final
class Options:
    def __new__(
        cls,
        *,
        rule: str = "trapezoid",
        max_gap_ns: int | None = None,
        strict: bool = False,
        negative_tolerance_w: float = 1.0,
        max_power_w: float = 100000.0,
        counter_unit_j: float = 1.0,
        counter_modulus: float | None = None,
    ) -> Options: ...
    @property
    def rule(self) -> str: ...
    @property
    def max_gap_ns(self) -> int | None: ...
    @property
    def strict(self) -> bool: ...
    @property
    def negative_tolerance_w(self) -> float: ...
    @property
    def max_power_w(self) -> float: ...
    @property
    def counter_unit_j(self) -> float: ...
    @property
    def counter_modulus(self) -> float | None: ...
    def for_counter(self, unit_j: float, modulus: float | None = None) -> Options: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __reduce__(self) -> tuple[Callable[..., Options], tuple[type[Options], tuple[()], dict[str, Any]]]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Partial:
    @property
    def energy_j(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def max_gap_ns(self) -> int: ...
    @property
    def first_t_ns(self) -> int | None: ...
    @property
    def last_t_ns(self) -> int | None: ...
    @property
    def first_value(self) -> float | None: ...
    @property
    def last_value(self) -> float | None: ...
    @property
    def n_samples(self) -> int: ...
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(b: bytes) -> Partial: ...
    def __reduce__(self) -> tuple[Callable[[bytes], Partial], tuple[bytes]]: ...
    def merge(self, other: Partial) -> Partial: ...
    def to_dict(self) -> dict[str, Any]: ...
    def __eq__(self, other: object) -> bool: ...

def integrate_channel(
    t_ns: npt.NDArray[np.int64], values: npt.NDArray[np.float64], options: Options, threads: int = 0
) -> Partial: ...
def partial_channel(
    t_ns: npt.NDArray[np.int64], values: npt.NDArray[np.float64], options: Options, threads: int = 0
) -> Partial: ...
def integrate_windows(
    t_ns: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    windows: npt.NDArray[np.int64],
    options: Options,
    threads: int = 0,
) -> tuple[Partial, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.uint64]]]: ...
def seconds_to_ns(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]: ...
def forked_from_pool_owner() -> bool: ...
def sniff_format(
    path: str | PathLike[str], max_decompressed_bytes: int | None = None, max_ratio: float = 250.0
) -> str | None: ...
def integrate_path(
    path: str | PathLike[str],
    options: Options,
    format: str | None = None,
    *,
    tz: str | None = None,
    value: str | None = None,
    channel: str | None = None,
    prefer: str | None = None,
    columns: str | None = None,
    chunk_bytes: int = 1048576,
    max_record_bytes: int = 1048576,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    collect: bool = False,
    windows: npt.NDArray[np.int64] | None = None,
    progress: Callable[[int], object] | None = None,
) -> tuple[
    list[tuple[str, Partial]],
    dict[str, Any],
    list[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.uint64]]] | None,
    list[tuple[str, npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.uint64]]] | None,
]: ...

@final
class StreamIntegrator:
    def __new__(cls, options: Options) -> StreamIntegrator: ...
    def push(
        self, name: str, t_ns: npt.NDArray[np.int64], values: npt.NDArray[np.float64], first_row: int
    ) -> None: ...
    def finish(self) -> list[tuple[str, Partial]]: ...

def steady_state(
    power_w: float,
    tokens_per_s: float,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    query_tokens: float = 500.0,
    pue: float = 1.0,
    grid_g_co2_per_kwh: float | None = None,
    allow_negative_price: bool = False,
    price_currency: str | None = None,
    rates: tuple[str | None, str, dict[str, float]] | None = None,
) -> dict[str, Any]: ...
def read_requests(
    path: str | PathLike[str],
    format: str | None = None,
    *,
    anchor_ns: int | None = None,
    start_ns: npt.NDArray[np.int64] | None = None,
    phase: str | None = ...,
    token_source: str | None = None,
    chunk_bytes: int = 1048576,
    max_record_bytes: int = 1048576,
    max_document_bytes: int = 268435456,
    max_json_depth: int = 64,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    progress: Callable[[int], object] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]: ...
def sniff_requests(
    path: str | PathLike[str], max_decompressed_bytes: int | None = None, max_ratio: float = 250.0
) -> str | None: ...
def read_token_counters(
    path: str | PathLike[str],
    format: str | None = None,
    *,
    chunk_bytes: int = 1048576,
    max_record_bytes: int = 1048576,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    progress: Callable[[int], object] | None = None,
) -> tuple[dict[str, Any], list[tuple[str, str, str]], list[dict[str, Any]], dict[str, Any]]: ...
def attribute(
    channels: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], Options]],
    start_ns: npt.NDArray[np.int64],
    first_token_ns: npt.NDArray[np.int64],
    has_first_token: npt.NDArray[np.bool_],
    end_ns: npt.NDArray[np.int64],
    input_tokens: npt.NDArray[np.int64],
    output_tokens: npt.NDArray[np.int64],
    *,
    request_channels: list[list[int]] | None = None,
    weight: str = "tokens",
    prefill_weight: float = 1.0,
    idle: str = "auto",
    idle_w: list[float] | None = None,
    span: tuple[int, int] | None = None,
    steady_state: bool = False,
    batch_size: int | None = None,
    offset_ns: int = 0,
    regression: bool = True,
    regression_bin_ns: int | None = None,
    threads: int = 0,
) -> dict[str, Any]: ...

# --- currency (rust/epcore-python/src/currency.rs) ---
_RawRates = tuple[str | None, str, dict[str, float]]

def currency_table() -> list[tuple[str, int]]: ...
def bundled_rates() -> _RawRates: ...
def rates_from_mapping(mapping: dict[str, float], date: str | None, base: str, source: str) -> _RawRates: ...
def read_ecb_rates(path: str | PathLike[str], date: str | None = None) -> _RawRates: ...
def read_ecb_history(path: str | PathLike[str]) -> list[_RawRates]: ...
def parse_ecb_text(text: str, name: str = "<text>") -> list[_RawRates]: ...
def fx_rate(rates: _RawRates, from_: str, to: str) -> float: ...
def fx_convert(rates: _RawRates, amount: float, from_: str, to: str) -> float: ...
def format_money(amount: float, currency: str, symbol: bool = True) -> str: ...
def currency_decimals(code: str) -> int: ...

# --- scenarios (rust/epcore-python/src/scenarios.rs) ---
_Pair = tuple[float, float]

def sensitivity(
    power_w: float,
    tokens_per_s: float,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    query_tokens: float = 500.0,
    pue: float = 1.0,
    grid_g_co2_per_kwh: float | None = None,
    allow_negative_price: bool = False,
    scenarios: list[tuple[str, str, str, float, str | None]] | None = None,
) -> dict[str, Any]: ...
def fleet(
    nodes: float,
    power_w_per_node: float,
    utilization: float,
    idle_power_w_per_node: float = 0.0,
    hours: float = 8760.0,
    pue: float = 1.0,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    grid_g_co2_per_kwh: float | None = None,
    tokens_per_s_per_node: float | None = None,
    allow_negative_price: bool = False,
) -> dict[str, Any]: ...
def api_floor(
    input_price_per_mtok: float,
    output_price_per_mtok: float,
    input_joules_per_token: float,
    output_joules_per_token: float,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    pue: float = 1.0,
    input_tokens: float = 0.0,
    output_tokens: float = 500.0,
    allow_negative_price: bool = False,
) -> dict[str, Any]: ...
def crossover(
    training_mwh: float,
    queries_per_day: float,
    wh_per_query: float,
    pue: float = 1.0,
    months: float = 12.0,
) -> dict[str, Any]: ...
def steady_state_range(
    power_w: _Pair,
    tokens_per_s: _Pair,
    price_per_kwh: _Pair = ...,
    currency: str = "USD",
    query_tokens: _Pair = ...,
    pue: _Pair = ...,
    grid_g_co2_per_kwh: _Pair | None = None,
    allow_negative_price: bool = False,
) -> dict[str, Any]: ...
def fleet_range(
    nodes: _Pair,
    power_w_per_node: _Pair,
    utilization: _Pair,
    idle_power_w_per_node: _Pair = ...,
    hours: _Pair = ...,
    pue: _Pair = ...,
    price_per_kwh: _Pair = ...,
    currency: str = "USD",
    grid_g_co2_per_kwh: _Pair | None = None,
    tokens_per_s_per_node: _Pair | None = None,
    allow_negative_price: bool = False,
) -> dict[str, Any]: ...

# --- carbon and price series (epcore.carbon) ---
_Channel = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], Options]

def grid_intensity(code: str) -> dict[str, Any]: ...
def grid_regions() -> list[dict[str, Any]]: ...
def read_series(
    path: str | PathLike[str],
    quantity: str,
    basis: str = "lifecycle",
    currency: str | None = None,
    allow_negative: bool = False,
) -> dict[str, Any]: ...
def series_from_labels(
    t_ns: npt.NDArray[np.int64], values: npt.NDArray[np.float64], quantity: str
) -> dict[str, Any]: ...
def integrate_series(
    channels: list[_Channel],
    start_ns: npt.NDArray[np.int64],
    end_ns: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    quantity: str,
    *,
    pue: float = 1.0,
    allow_partial: bool = False,
    threads: int = 0,
) -> dict[str, Any]: ...
def integrate_constant(
    channels: list[_Channel],
    value: float,
    quantity: str,
    *,
    pue: float = 1.0,
    threads: int = 0,
) -> dict[str, Any]: ...

# --- batch conversion (rust/epcore-python/src/batch.rs) ---
def batch_convert(
    columns: Mapping[str, npt.NDArray[np.float64] | float | None],
    outputs: list[tuple[str, npt.NDArray[np.float64]]],
    valid: npt.NDArray[np.bool_] | None = None,
    *,
    currency: str = "USD",
    allow_negative_price: bool = False,
    on_invalid: str = "raise",
    threads: int = 0,
) -> dict[str, Any]: ...
def batch_default_outputs(columns: Mapping[str, npt.NDArray[np.float64] | float | None]) -> list[str]: ...
def batch_output_names() -> list[str]: ...
