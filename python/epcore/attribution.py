"""Measured energy per request and per token, under continuous batching.

:func:`attribute` joins a power trace with a request log. Request starts,
first tokens and ends cut the trace into segments in which the set of active
requests is fixed; each segment is integrated once (edges interpolated) and
its energy split among the requests active in it. Energy measured while no
request was active is *unattributed*, reported and never dropped, so
``attributed_energy_j + unattributed_energy_j == total_energy_j`` and the
per-request ``energy_j`` add up to ``attributed_energy_j``.

Weights (``weight=``):

``tokens`` (default)
    Tokens processed per second in each request's current phase: prefill
    ``prefill_weight × input_tokens / prefill time``, decode ``(output_tokens
    − 1) / decode time``. Power follows the work done, and under continuous
    batching a request streaming tokens does more of it than one that is
    merely present; a request with a long prompt weighs more while its prompt
    is read.
``equal``
    The same share for every active request.
``phase``
    A request in prefill weighs ``prefill_weight``, one in decode 1.

A request is in prefill from its start to its first token (the prompt and
output token 1) and in decode from its first token to its end (the other
``N − 1`` output tokens): ``joules_per_input_token`` is prefill energy per
prompt token, ``decode_joules_per_token`` decode energy per token after the
first. ``energy_j`` includes idle power; ``dynamic_energy_j`` is the part
above ``idle_w``.

A second, independent estimate regresses power in time bins on prefill and
decode token rates (:attr:`Attribution.regression`): its coefficients are the
marginal J per input and per output token, its intercept the static power.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import windows_ns
from .exceptions import ConfigError
from .request_logs import Requests, read_requests
from .trace import PowerTrace, read_power

__all__ = ["Attribution", "RegressionEstimate", "RequestEnergies", "SteadyStateWindow", "attribute"]

Weight = Literal["tokens", "equal", "phase"]

#: Per-request columns, in order.
COLUMNS = (
    "request_id", "model", "start_ns", "first_token_ns", "end_ns", "input_tokens", "output_tokens", "coverage",
    "energy_j", "dynamic_energy_j", "prefill_energy_j", "decode_energy_j", "joules_per_output_token",
    "joules_per_input_token", "decode_joules_per_token", "joules_per_token", "mean_power_w", "counted_input_tokens",
    "counted_output_tokens", "counted_decode_tokens", "reason",
)
_OPTIONAL = (
    "energy_j", "dynamic_energy_j", "prefill_energy_j", "decode_energy_j", "joules_per_output_token",
    "joules_per_input_token", "decode_joules_per_token", "joules_per_token", "mean_power_w",
)
#: Columns summarised in :attr:`Attribution.distribution`.
DISTRIBUTION_COLUMNS = (
    "energy_j", "dynamic_energy_j", "joules_per_output_token", "joules_per_input_token",
    "decode_joules_per_token", "joules_per_token", "prefill_energy_j", "decode_energy_j",
)
_TOTALS = (
    "total_energy_j", "attributed_energy_j", "unattributed_energy_j", "dynamic_energy_j", "idle_energy_j",
    "prefill_energy_j", "decode_energy_j", "unsplit_energy_j", "joules_per_output_token",
    "joules_per_input_token", "decode_joules_per_token", "joules_per_token", "dynamic_joules_per_output_token",
    "n_requests", "n_attributed", "n_outside", "n_partial", "input_tokens", "output_tokens", "decode_tokens",
    "counted_input_tokens", "counted_output_tokens", "counted_prefill_tokens", "counted_decode_tokens",
)


def _json(v: Any) -> Any:
    """A numpy scalar as a plain Python value (None stays None)."""
    return v.item() if isinstance(v, np.generic) else v


class RequestEnergies:
    """The per-request table: one row per request, in the log's order.

    ``table["energy_j"]`` is a numpy array (a masked array where a column can be
    missing); :meth:`to_dict` gives lists with None; :meth:`to_arrow`,
    :meth:`to_pandas`, :meth:`to_polars` and ``__arrow_c_stream__`` give tables.
    """

    def __init__(self, columns: dict[str, Any]):
        self._cols = columns

    def __len__(self) -> int:
        return int(self._cols["start_ns"].size)

    def __getitem__(self, name: str) -> Any:
        return self._cols[name]

    def __repr__(self) -> str:
        return f"RequestEnergies(n={len(self)})"

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS

    def to_dict(self) -> dict[str, list[Any]]:
        """Column name → list of plain values (None where missing)."""
        return {c: [_json(v) for v in self._cols[c].tolist()] if hasattr(self._cols[c], "tolist")
                else list(self._cols[c]) for c in COLUMNS}

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each request as a dict of plain values."""
        cols = self.to_dict()
        for i in range(len(self)):
            yield {c: cols[c][i] for c in COLUMNS}

    def to_arrow(self) -> Any:
        """A pyarrow table; times as ``timestamp[ns, UTC]``, missing values null (needs pyarrow)."""
        import pyarrow as pa

        ts = pa.timestamp("ns", tz="UTC")
        out: dict[str, Any] = {}
        for c in COLUMNS:
            v = self._cols[c]
            if c in ("request_id", "model", "reason"):
                out[c] = pa.array(list(v), type=pa.string())
            elif c in ("start_ns", "end_ns", "first_token_ns"):
                mask = np.ma.getmaskarray(v) if isinstance(v, np.ma.MaskedArray) else None
                out[c] = pa.array(np.ma.getdata(v), mask=mask, type=ts)
            elif isinstance(v, np.ma.MaskedArray):
                out[c] = pa.array(np.ma.getdata(v), mask=np.ma.getmaskarray(v), type=pa.float64())
            else:
                out[c] = pa.array(v)
        return pa.table(out)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow` (polars, duckdb, pandas take it directly)."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def to_pandas(self) -> Any:
        """A pandas DataFrame (NaN/NaT where missing; needs pandas and pyarrow)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A polars DataFrame (null where missing; needs polars)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def to_csv(self, path_or_file: str | os.PathLike[str] | IO[str]) -> None:
        """Write the table as CSV (a path, or an open text file such as ``sys.stdout``):
        times in integer ns, floats in shortest round-trip form, empty cells where missing."""
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, "w", encoding="utf-8", newline="") as f:
                self._write_csv(f)
        else:
            self._write_csv(path_or_file)

    def _write_csv(self, f: IO[str]) -> None:
        cols = self.to_dict()
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for i in range(len(self)):
            w.writerow(["" if cols[c][i] is None else repr(cols[c][i]) if isinstance(cols[c][i], float)
                        else cols[c][i] for c in COLUMNS])


@dataclass(frozen=True)
class RegressionEstimate:
    """Least squares of bin power on prefill and decode token rates.

    ``power_w = intercept_w + joules_per_input_token × prefill tok/s +
    joules_per_output_token × decode tok/s``: the coefficients are marginal
    energies (idle excluded), the intercept the static power while serving.
    """

    joules_per_input_token: float
    joules_per_output_token: float
    intercept_w: float
    stderr_joules_per_input_token: float
    stderr_joules_per_output_token: float
    stderr_intercept_w: float
    r_squared: float
    residual_std_w: float
    n_bins: int
    bin_s: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SteadyStateWindow:
    """The ML.ENERGY steady-state window: from the ``batch_size``-th first token
    to the ``(N − batch_size)``-th completion."""

    start_ns: int
    end_ns: int
    batch_size: int
    batch_size_observed: bool

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "duration_s": self.duration_s}


def _summary(values: npt.NDArray[np.float64]) -> dict[str, Any]:
    if values.size == 0:
        return {"n": 0, "mean": None, "min": None, "p50": None, "p90": None, "p99": None, "max": None}
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {"n": int(values.size), "mean": math.fsum(values.tolist()) / values.size, "min": float(values.min()),
            "p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(values.max())}


@dataclass(frozen=True)
class Attribution:
    """What :func:`attribute` measured. Totals are attributes; per-request figures are in :attr:`requests`.

    Aggregate J/token are ratios of sums (Σ J ÷ Σ tokens over the requests that
    got an energy), never means of per-request ratios. They divide by the
    ``counted_*_tokens``: the requests' own counts (``input_tokens``,
    ``output_tokens``, ``decode_tokens`` = Σ ``N − 1``), or, with a span or the
    steady state, the tokens processed inside it (each phase's tokens prorated
    over its time inside, the first token counted where it falls), so energy
    and tokens cover the same stretch. ``joules_per_input_token`` and
    ``decode_joules_per_token`` divide by ``counted_prefill_tokens`` and
    ``counted_decode_tokens``: those of requests with a first token.
    """

    total_energy_j: float
    attributed_energy_j: float
    unattributed_energy_j: float
    dynamic_energy_j: float
    idle_energy_j: float
    prefill_energy_j: float
    decode_energy_j: float
    unsplit_energy_j: float
    joules_per_output_token: float | None
    joules_per_input_token: float | None
    decode_joules_per_token: float | None
    joules_per_token: float | None
    dynamic_joules_per_output_token: float | None
    n_requests: int
    n_attributed: int
    n_outside: int
    n_partial: int
    input_tokens: int
    output_tokens: int
    decode_tokens: int
    counted_input_tokens: float
    counted_output_tokens: float
    counted_prefill_tokens: float
    counted_decode_tokens: float
    requests: RequestEnergies
    idle_w: dict[str, float]
    idle_source: dict[str, str]
    span_ns: tuple[int, int]
    #: "whole" (the trace), "span" (asked) or "steady_state".
    span_kind: str
    steady_state: SteadyStateWindow | None
    regression: RegressionEstimate | None
    regression_reason: str | None
    weight: str
    prefill_weight: float
    offset_ns: int
    channels: tuple[str, ...]
    quality: dict[str, Any] = field(default_factory=dict)

    @property
    def distribution(self) -> dict[str, dict[str, Any]]:
        """n, mean, min, p50, p90, p99, max (numpy's linear percentiles) of each per-request figure."""
        out = {}
        for c in DISTRIBUTION_COLUMNS:
            v = self.requests[c]
            out[c] = _summary(np.asarray(v.compressed(), dtype=np.float64))
        return out

    @property
    def span_s(self) -> float:
        return (self.span_ns[1] - self.span_ns[0]) / 1e9

    def totals(self) -> dict[str, Any]:
        """The top-level figures only."""
        return {k: getattr(self, k) for k in _TOTALS}

    def to_dict(self, requests: bool = True) -> dict[str, Any]:
        """JSON-ready: the same names as the attributes, ``requests`` as a list of objects."""
        d: dict[str, Any] = self.totals()
        d.update(
            weight=self.weight,
            prefill_weight=self.prefill_weight,
            offset_ns=self.offset_ns,
            span_ns=list(self.span_ns),
            span_kind=self.span_kind,
            channels=list(self.channels),
            steady_state=None if self.steady_state is None else self.steady_state.to_dict(),
            idle_w=dict(self.idle_w),
            idle_source=dict(self.idle_source),
            regression=None if self.regression is None else self.regression.to_dict(),
            regression_reason=self.regression_reason,
            distribution=self.distribution,
            quality=self.quality,
        )
        if requests:
            d["requests"] = list(self.requests.rows())
        return d


def _channel_lists(
    channels: Mapping[str, Sequence[str]] | Sequence[Sequence[str]] | None,
    reqs: Requests,
    names: tuple[str, ...],
) -> list[list[int]] | None:
    """Requests → channel indices: by model (a mapping) or one list per request."""
    if channels is None:
        return None
    index = {n: i for i, n in enumerate(names)}

    def resolve(chs: Sequence[str], where: str) -> list[int]:
        if isinstance(chs, str):
            chs = [chs]
        out = []
        for c in chs:
            if c not in index:
                raise ConfigError(
                    f"channels: {where} names channel {c!r}, which the trace does not have",
                    code="invalid_argument", value=str(c), hint=f"the trace's channels are {list(names)}",
                )
            out.append(index[c])
        return out

    if isinstance(channels, Mapping):
        by_model = {m: resolve(chs, f"model {m!r}") for m, chs in channels.items()}
        out = []
        for i, m in enumerate(reqs.model.tolist()):
            if m not in by_model:
                raise ConfigError(
                    f"channels: request {reqs.request_id[i]!r} has model {m!r}, which the mapping does not name",
                    code="invalid_argument", value=str(m),
                    hint=f"map every model: {sorted(map(str, set(reqs.model.tolist())))}",
                )
            out.append(by_model[m])
        return out
    lists = list(channels)
    if len(lists) != len(reqs):
        raise ConfigError(f"channels: {len(lists)} lists for {len(reqs)} requests", code="length_mismatch",
                          value=str(len(lists)))
    return [resolve(c, f"request {i}") for i, c in enumerate(lists)]


def _idle(idle_w: Any, names: tuple[str, ...]) -> tuple[str, list[float] | None]:
    if idle_w is None or idle_w == "off":
        return "off", None
    if idle_w == "auto":
        return "auto", None
    if isinstance(idle_w, Mapping):
        missing = [n for n in names if n not in idle_w]
        if missing:
            raise ConfigError(f"idle_w: no idle power for channel(s) {missing}", code="invalid_argument",
                              value=str(missing), hint="give a value for every channel, or one number for all")
        return "given", [float(idle_w[n]) for n in names]
    if isinstance(idle_w, (int, float)) and not isinstance(idle_w, bool):
        return "given", [float(idle_w)] * len(names)
    raise ConfigError(f"idle_w = {idle_w!r}: expected 'auto', 'off'/None, watts, or a mapping channel → watts",
                      code="invalid_argument", value=repr(idle_w))


def _masked(values: Any, valid: Any) -> np.ma.MaskedArray[Any, Any]:
    return np.ma.MaskedArray(np.asarray(values, dtype=np.float64), mask=~np.asarray(valid, dtype=bool))


def _warnings(trace: PowerTrace, reqs: Requests) -> list[str]:
    out = []
    semantics = {c.quality.power_semantics for c in trace.result.channels}
    if "avg_1s" in semantics and len(reqs):
        short = int(np.count_nonzero((reqs.end_ns - reqs.start_ns) < 5_000_000_000))
        if short:
            out.append(
                f"{short} request(s) last under 5 s, but the power readings are 1 s averages: their energies "
                "are smeared across neighbours (totals and long windows are unaffected)"
            )
    chunks = dict(reqs.quality.token_sources).get("stream_chunks", 0)
    if chunks:
        out.append(
            f"{chunks} request(s) count output tokens from streamed chunks, not the server's usage: chunks can "
            "hold several tokens, so J/output token may be overstated (FORMATS.md §11)"
        )
    return out


def attribute(
    trace: PowerTrace | str | os.PathLike[str],
    requests: Requests | str | os.PathLike[str],
    *,
    weight: Weight = "tokens",
    prefill_weight: float = 1.0,
    idle_w: Literal["auto", "off"] | float | Mapping[str, float] | None = "auto",
    span: tuple[Any, Any] | None = None,
    steady_state: bool = False,
    batch_size: int | None = None,
    offset_ns: int = 0,
    channels: Mapping[str, Sequence[str]] | Sequence[Sequence[str]] | None = None,
    regression: bool = True,
    regression_bin_s: float | None = None,
    threads: int = 0,
) -> Attribution:
    """Attribute a power trace's energy to the requests that ran during it.

    ``trace`` is a :class:`PowerTrace` (or a path, read with
    :func:`epcore.read_power`); ``requests`` a :class:`Requests` (or a path,
    read with :func:`epcore.read_requests`). ``idle_w`` is ``"auto"``
    (estimated per channel: the median power while no request runs, else the
    5th percentile), ``"off"``/None, watts per channel, or a mapping channel →
    W. ``span=(start, end)`` or ``steady_state=True`` (ML.ENERGY's window; the
    batch size is the most requests in flight at once unless ``batch_size``)
    restrict the totals and shares to that stretch. ``offset_ns`` is added to
    every request time, to put the log on the trace's clock. ``channels`` maps
    requests to channels: None (every request on every channel), a mapping
    model → channel names, or one list of names per request.

    >>> import epcore
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10 * s], [200.0, 200.0])})
    >>> rq = epcore.Requests.from_arrays(start_ns=[2 * s, 2 * s], first_token_ns=[3 * s, 3 * s],
    ...                                  end_ns=[6 * s, 6 * s], input_tokens=[100, 100], output_tokens=[31, 31])
    >>> a = epcore.attribute(tr, rq, weight="equal", idle_w=100.0)
    >>> a.total_energy_j, a.attributed_energy_j, a.unattributed_energy_j
    (2000.0, 800.0, 1200.0)
    >>> a.requests["energy_j"].tolist(), a.requests["dynamic_energy_j"].tolist()
    ([400.0, 400.0], [200.0, 200.0])
    >>> a.joules_per_input_token, a.decode_joules_per_token  # 100 J / 100 prompt tokens; 300 J / 30 tokens after the first
    (1.0, 10.0)
    """
    tr = trace if isinstance(trace, PowerTrace) else read_power(trace)
    rq = requests if isinstance(requests, Requests) else read_requests(requests)
    if isinstance(offset_ns, bool) or not isinstance(offset_ns, (int, np.integer)):
        raise ConfigError(f"offset_ns = {offset_ns!r}: must be an integer number of ns", code="invalid_argument",
                          value=repr(offset_ns))
    if offset_ns == 0:
        tr.require_absolute_time()
    names = tr.channels
    idle, idle_list = _idle(idle_w, names)
    span_ns = None
    if span is not None:
        w = windows_ns([span])
        span_ns = (int(w[0, 0]), int(w[0, 1]))
    bin_ns = None
    if regression_bin_s is not None:
        if not (isinstance(regression_bin_s, (int, float)) and math.isfinite(regression_bin_s) and regression_bin_s > 0):
            raise ConfigError(f"regression_bin_s = {regression_bin_s!r}: must be a number of seconds > 0",
                              code="invalid_argument", value=repr(regression_bin_s))
        bin_ns = max(1, round(regression_bin_s * 1e9))
    chans = [(tr.samples[n].t_ns, tr.samples[n].values, tr.options) for n in names]
    out = _core.attribute(
        chans,
        rq.start_ns,
        np.ascontiguousarray(rq.first_token_ns.filled(0), dtype=np.int64),
        np.ascontiguousarray(rq.has_first_token),
        rq.end_ns,
        rq.input_tokens,
        rq.output_tokens,
        request_channels=_channel_lists(channels, rq, names),
        weight=weight,
        prefill_weight=float(prefill_weight),
        idle=idle,
        idle_w=idle_list,
        span=span_ns,
        steady_state=bool(steady_state),
        batch_size=batch_size,
        offset_ns=int(offset_ns),
        regression=bool(regression),
        regression_bin_ns=bin_ns,
        threads=int(threads),
    )
    rc = out["requests"]
    shift = np.int64(offset_ns)
    cols: dict[str, Any] = {
        "request_id": rq.request_id,
        "model": rq.model,
        "start_ns": rq.start_ns + shift,
        "first_token_ns": np.ma.MaskedArray(rq.first_token_ns.filled(0) + shift, mask=~rq.has_first_token),
        "end_ns": rq.end_ns + shift,
        "input_tokens": rq.input_tokens,
        "output_tokens": rq.output_tokens,
        "coverage": rc["coverage"],
        "counted_input_tokens": rc["counted_input_tokens"],
        "counted_output_tokens": rc["counted_output_tokens"],
        "counted_decode_tokens": rc["counted_decode_tokens"],
        "reason": np.array(rc["reason"], dtype=object),
    }
    for c in _OPTIONAL:
        cols[c] = _masked(rc[c], rc[f"{c}_valid"])
    t = out["totals"]
    reg = out["regression"]
    steady = out["steady_state"]
    bin_s = None if out["regression_bin_ns"] is None else out["regression_bin_ns"] / 1e9
    return Attribution(
        **{k: t[k] for k in _TOTALS},
        requests=RequestEnergies(cols),
        idle_w=dict(zip(names, out["idle_w"])),
        idle_source=dict(zip(names, out["idle_source"])),
        span_ns=tuple(out["span_ns"]),
        span_kind="steady_state" if steady_state else "whole" if span is None else "span",
        steady_state=None if steady is None else SteadyStateWindow(**steady),
        regression=None if reg is None else RegressionEstimate(**reg, bin_s=float(bin_s or 0.0)),
        regression_reason=out["regression_reason"],
        weight=out["weight"],
        prefill_weight=out["prefill_weight"],
        offset_ns=int(offset_ns),
        channels=names,
        quality={
            "trace": tr.quality.to_dict(),
            "requests": rq.quality.to_dict(),
            "warnings": _warnings(tr, rq),
        },
    )
