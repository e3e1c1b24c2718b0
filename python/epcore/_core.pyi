# Type stubs of the Rust extension, checked against it by mypy.stubtest (tests/test_stubs.py).
from collections.abc import Callable
from os import PathLike
from typing import Any, final

import numpy as np
import numpy.typing as npt

__version__: str
__all__ = [
    "__version__",
    "attribute",
    "Options",
    "Partial",
    "integrate_channel",
    "integrate_path",
    "sniff_format",
    "StreamIntegrator",
    "integrate_windows",
    "partial_channel",
    "read_requests",
    "read_token_counters",
    "seconds_to_ns",
    "sniff_requests",
    "steady_state",
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
    def for_counter(self, unit_j: float, modulus: float | None = None) -> Options: ...

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
    def n_samples(self) -> int: ...
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
