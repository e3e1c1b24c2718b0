"""Batch conversion: the steady-state figures of millions of scenarios at once.

:func:`batch` takes every input of :func:`epcore.steady_state` as an array or
a scalar (broadcast to every row), or a table (pyarrow, pandas, polars, a
dict of arrays) holding them as columns, and computes every figure in one
fused, multi-threaded pass in Rust with the GIL released. Each value is
bitwise the one :func:`epcore.steady_state` gives for that row, whatever the
thread count: rows are independent.

>>> import numpy as np
>>> r = batch(power_w=np.array([5600.0, 700.0]), tokens_per_s=2500, price_per_kwh=0.08)
>>> r["joules_per_token"]
array([2.24, 0.28])
>>> r["cost_per_million_tokens"].round(6).tolist(), r.currency
([0.049778, 0.006222], 'USD')
>>> sorted(r)[:3]
['cost_per_million_tokens', 'cost_per_query', 'joules_per_token']

Reuse the output memory of one batch for the next (fresh pages cost about
as much as the arithmetic):

>>> r2 = batch(power_w=np.array([1000.0, 2000.0]), tokens_per_s=500, out=r)
>>> r2["joules_per_token"] is r["joules_per_token"], r2["joules_per_token"].tolist()
(True, [2.0, 4.0])

A bad row raises, naming the row, the input and the value; with
``on_invalid="null"`` it becomes a null instead, masked and counted:

>>> batch(power_w=np.array([5600.0, -1.0]), tokens_per_s=2500)
Traceback (most recent call last):
epcore.exceptions.ConfigError: row 1: power_w = -1: must be > 0
>>> r = batch(power_w=np.array([5600.0, -1.0]), tokens_per_s=2500, on_invalid="null")
>>> r.valid.tolist(), r.quality.n_invalid, r.to_arrow()["joules_per_token"].to_pylist()
([True, False], 1, [2.24, None])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from .currency import Rates
from .exceptions import ConfigError, SchemaError

# steady_state's default price, per kWh in the price's currency.
_DEFAULT_PRICE_PER_KWH = 0.08

__all__ = ["BATCH_INPUTS", "BatchInvalidRow", "BatchQuality", "BatchResult", "batch", "batch_output_names"]

Float64Array = npt.NDArray[np.float64]

#: Input columns, in the order of :func:`epcore.steady_state`'s arguments.
BATCH_INPUTS: tuple[str, ...] = (
    "power_w", "tokens_per_s", "price_per_kwh", "query_tokens", "pue", "grid_g_co2_per_kwh",
)
_REQUIRED = ("power_w", "tokens_per_s")


def batch_output_names() -> list[str]:
    """Every output :func:`batch` can compute: the IT figures, then ``facility_*`` (energy × PUE).

    >>> batch_output_names()[:2], batch_output_names()[10]
    (['joules_per_token', 'wh_per_token'], 'facility_joules_per_token')
    """
    return list(_core.batch_output_names())


@dataclass(frozen=True)
class BatchInvalidRow:
    """A row outside the calculator's domain: its 0-based index, the input to blame, its value, why."""

    row: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class BatchQuality:
    """How a batch went: rows, bad rows (nulls; always 0 with ``on_invalid="raise"``), the
    first bad row, and the threads it ran on."""

    n_rows: int
    n_invalid: int
    first_invalid: BatchInvalidRow | None
    threads: int
    on_invalid: str

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_invalid

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``first_invalid`` a dict or None)."""
        d = asdict(self)
        d["n_valid"] = self.n_valid
        return d


class BatchResult(Mapping[str, Float64Array]):
    """Output name → float64 array (one value per row), plus ``valid``, ``quality`` and ``currency``.

    With ``on_invalid="null"``, ``valid`` is the row mask and a bad row holds
    NaN in every array (numpy has no float null); :meth:`to_arrow`,
    :meth:`to_pandas` and :meth:`to_polars` turn those rows into real nulls.
    Every ``cost_*`` figure is in ``currency``.
    """

    def __init__(self, columns: dict[str, Float64Array], valid: npt.NDArray[np.bool_] | None,
                 quality: BatchQuality, currency: str, rate: float = 1.0, rate_date: str | None = None,
                 rate_source: str | None = None) -> None:
        self._cols = columns
        self.valid = valid
        self.quality = quality
        self.currency = currency
        #: Units of ``currency`` per unit of the price's currency (1.0 when they are the same).
        self.rate = rate
        self.rate_date = rate_date
        self.rate_source = rate_source

    def __getitem__(self, name: str) -> Float64Array:
        return self._cols[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __len__(self) -> int:
        return len(self._cols)

    @property
    def n_rows(self) -> int:
        return self.quality.n_rows

    def __repr__(self) -> str:
        return (f"BatchResult(n_rows={self.n_rows}, outputs={list(self._cols)}, currency={self.currency!r}, "
                f"n_invalid={self.quality.n_invalid})")

    def _null_mask(self) -> npt.NDArray[np.bool_] | None:
        if self.valid is None or self.quality.n_invalid == 0:
            return None
        return ~self.valid

    def to_arrow(self) -> Any:
        """A pyarrow table of the outputs (null where a row was invalid); the schema metadata
        carries ``currency`` (needs pyarrow)."""
        import pyarrow as pa

        mask = self._null_mask()
        arrays = [pa.array(v, type=pa.float64(), mask=mask) for v in self._cols.values()]
        schema = pa.schema([pa.field(k, pa.float64()) for k in self._cols],
                           metadata={"currency": self.currency})
        return pa.Table.from_arrays(arrays, schema=schema)

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow` (polars, duckdb, pandas take it directly)."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def to_pandas(self) -> Any:
        """A pandas DataFrame sharing the arrays (NaN where a row was invalid; needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self._cols, copy=False)

    def to_polars(self) -> Any:
        """A polars DataFrame (null where a row was invalid; needs polars)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow())


def batch(
    data: Any = None,
    /,
    *,
    power_w: Any = None,
    tokens_per_s: Any = None,
    price_per_kwh: Any = None,
    query_tokens: Any = None,
    pue: Any = None,
    grid_g_co2_per_kwh: Any = None,
    columns: Mapping[str, str] | None = None,
    currency: str = "USD",
    price_currency: str | None = None,
    rates: Rates | None = None,
    allow_negative_price: bool = False,
    outputs: Sequence[str] | None = None,
    threads: int = 0,
    out: BatchResult | Mapping[str, Float64Array] | None = None,
    on_invalid: Literal["raise", "null"] = "raise",
) -> BatchResult:
    """Every steady-state figure for every row: arrays or scalars in, one array per figure out.

    Inputs (each an array or a scalar broadcast to every row, as in
    :func:`epcore.steady_state`): ``power_w``, ``tokens_per_s`` (required),
    ``price_per_kwh`` (0.08), ``query_tokens`` (500), ``pue`` (1.0),
    ``grid_g_co2_per_kwh`` (None: no carbon figures). ``data`` may hold them
    as columns instead: a pyarrow Table or RecordBatch, a pandas or polars
    DataFrame, anything with ``__arrow_c_stream__``, or a dict of arrays;
    ``columns`` maps an input to a column of another name (``{"power_w":
    "avg_power_watts"}``). Other columns are ignored, and an input given both
    ways is an error.

    ``outputs``: names to compute (:func:`batch_output_names`); default: the
    IT figures, carbon when an intensity is given, and ``facility_*``
    (energy × PUE) when ``pue`` is an array or above 1. ``out``: a previous
    :class:`BatchResult` or a dict of float64 arrays to write into instead
    of allocating. ``threads``: 0 uses every core; the values never depend on it.

    ``price_per_kwh`` is in ``price_currency`` (default: ``currency``); when
    they differ it is converted once with ``rates`` (default: the bundled ECB
    reference rates) and the result carries ``rate``, ``rate_date`` and
    ``rate_source``, as :func:`epcore.steady_state` does.

    A row outside the domain (zero, negative or non-finite power, throughput
    or query size, PUE < 1, a negative price without ``allow_negative_price``,
    a negative intensity, figures that overflow) raises
    :class:`epcore.ConfigError` with ``index`` (the row) and ``column`` set,
    or with ``on_invalid="null"`` becomes NaN in every output and False in
    ``result.valid``, counted in ``result.quality``. Contiguous float64
    arrays are read in place, never copied.

    >>> import numpy as np
    >>> r = batch({"power_w": np.array([669.0]), "tokens_per_s": np.array([7037.0])}, pue=1.2,
    ...           grid_g_co2_per_kwh=400, outputs=["joules_per_token", "facility_g_co2_per_query"])
    >>> r["joules_per_token"].round(6).tolist(), r["facility_g_co2_per_query"].round(6).tolist()
    ([0.095069], [0.006338])
    """
    if on_invalid not in ("raise", "null"):
        raise ConfigError(f"on_invalid = {on_invalid}: expected raise or null", code="invalid_argument",
                          value=str(on_invalid))
    if not isinstance(threads, int) or threads < 0:
        raise ConfigError(f"threads = {threads}: must be an integer >= 0", code="invalid_argument",
                          value=str(threads))
    given = {"power_w": power_w, "tokens_per_s": tokens_per_s, "price_per_kwh": price_per_kwh,
             "query_tokens": query_tokens, "pue": pue, "grid_g_co2_per_kwh": grid_g_co2_per_kwh}
    cols: dict[str, Float64Array | float] = {}
    rename = dict(columns or {})
    unknown = sorted(set(rename) - set(BATCH_INPUTS))
    if unknown:
        raise ConfigError(f"columns: {unknown[0]} is not an input; expected one of {', '.join(BATCH_INPUTS)}",
                          code="invalid_argument", value=unknown[0])
    if rename and data is None:
        raise ConfigError("columns renames the columns of a table: pass the table too", code="invalid_argument",
                          value=", ".join(rename))
    if data is not None:
        from_table = _table_columns(data, on_invalid, {k: rename.get(k, k) for k in BATCH_INPUTS})
        for name, v in from_table.items():
            if given[name] is not None:
                raise ConfigError(f"{name} is both a column of the table and an argument: pass it once",
                                  code="invalid_argument", value=name)
            cols[name] = v
    for name, v in given.items():
        if v is not None:
            cols[name] = _column(name, v)
    missing = [k for k in _REQUIRED if k not in cols]
    if missing:
        if data is not None:
            wanted = [rename.get(k, k) for k in missing]
            raise SchemaError(f"the table has no {' or '.join(wanted)} column", code="schema",
                              value=", ".join(wanted),
                              hint="name the table's columns with columns={'power_w': '<its column>', ...}")
        raise TypeError(f"batch() needs {' and '.join(missing)}")
    n = _rows(cols)
    rate, rate_date, rate_source = 1.0, None, None
    if price_currency is not None and price_currency != currency:
        table = Rates.bundled() if rates is None else rates
        rate, rate_date, rate_source = table.rate(price_currency, currency), table.date, table.source
        price = cols.get("price_per_kwh", _DEFAULT_PRICE_PER_KWH)
        # One multiplication per row, before the fused pass: the core then works in `currency`.
        cols["price_per_kwh"] = price * rate
    names = list(_core.batch_default_outputs(cols)) if outputs is None else list(outputs)
    out_cols, valid = _outputs(names, n, out, on_invalid, cols)
    q = _core.batch_convert(cols, list(out_cols.items()), valid, currency=currency,
                            allow_negative_price=allow_negative_price, on_invalid=on_invalid, threads=threads)
    first = q["first_invalid"]
    quality = BatchQuality(
        n_rows=int(q["n_rows"]), n_invalid=int(q["n_invalid"]),
        first_invalid=None if first is None else BatchInvalidRow(**first),
        threads=int(q["threads"]), on_invalid=on_invalid,
    )
    return BatchResult(out_cols, valid, quality, currency, rate, rate_date, rate_source)


def _column(name: str, v: Any) -> Float64Array | float:
    """A scalar stays a float; an array becomes contiguous float64 (copied only when it is not)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        return float(a)
    if a.ndim != 1:
        raise SchemaError(f"{name} must be one-dimensional, got shape {a.shape}", code="schema",
                          value=str(a.shape))
    return np.ascontiguousarray(a)


def _rows(cols: Mapping[str, Float64Array | float]) -> int:
    lens = {k: v.shape[0] for k, v in cols.items() if isinstance(v, np.ndarray)}
    if not lens:
        return 1
    first = next(iter(lens))
    for k, m in lens.items():
        if m != lens[first]:
            raise SchemaError(f"{k} has {m} rows, {first} has {lens[first]}", code="length_mismatch",
                              value=str(m))
    return int(lens[first])


def _outputs(names: list[str], n: int, out: BatchResult | Mapping[str, Float64Array] | None,
             on_invalid: str, inputs: Mapping[str, Any]) -> tuple[dict[str, Float64Array],
                                                                   npt.NDArray[np.bool_] | None]:
    """The buffers to fill: ``out``'s where it has them (checked), fresh ones otherwise."""
    reuse: Mapping[str, Any] = {} if out is None else out
    cols: dict[str, Float64Array] = {}
    for name in names:
        buf = reuse.get(name)
        if buf is None:
            cols[name] = np.empty(n, dtype=np.float64)
            continue
        if not (isinstance(buf, np.ndarray) and buf.dtype == np.float64 and buf.shape == (n,)
                and buf.flags.c_contiguous and buf.flags.writeable):
            what = f"{getattr(buf, 'dtype', type(buf).__name__)} {getattr(buf, 'shape', '')}".strip()
            raise ConfigError(f"out[{name!r}] must be a writeable contiguous float64 array of {n} rows, "
                              f"got {what}", code="invalid_argument", value=name)
        for k, v in inputs.items():
            if isinstance(v, np.ndarray) and np.may_share_memory(buf, v):
                raise ConfigError(f"out[{name!r}] overlaps the input {k}: the inputs must stay intact",
                                  code="invalid_argument", value=name)
        cols[name] = buf
    if len(set(cols)) != len(names):
        dup = next(x for x in names if names.count(x) > 1)
        raise ConfigError(f"outputs names {dup} twice", code="invalid_argument", value=dup)
    valid = None
    if on_invalid == "null":
        old = out.valid if isinstance(out, BatchResult) else None
        valid = old if old is not None and old.shape == (n,) else np.empty(n, dtype=np.bool_)
    return cols, valid


def _table_columns(data: Any, on_invalid: str, names: Mapping[str, str]) -> dict[str, Float64Array | float]:
    """The input columns of a table (``names``: input → its column), as float64 arrays
    (nulls → NaN, which the core rejects or masks)."""
    if isinstance(data, Mapping):
        return {k: _column(k, data[c]) for k, c in names.items() if c in data}
    module = type(data).__module__.split(".")[0]
    out: dict[str, Float64Array | float] = {}
    if module == "pandas":
        for k, c in names.items():
            if c in data.columns:
                s = data[c]
                _refuse_nulls(k, s.isna().to_numpy() if on_invalid == "raise" and s.hasnans else None)
                out[k] = np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan))
        return out
    if module == "polars":
        import polars as pl

        for k, c in names.items():
            if c in data.columns:
                s = data[c].cast(pl.Float64)
                _refuse_nulls(k, s.is_null().to_numpy() if on_invalid == "raise" and s.null_count() else None)
                out[k] = np.ascontiguousarray(s.to_numpy(), dtype=np.float64)
        return out
    import pyarrow as pa

    if not isinstance(data, (pa.Table, pa.RecordBatch)):
        if not hasattr(data, "__arrow_c_stream__"):
            raise ConfigError(f"cannot read a table from {type(data).__name__}: pass a pyarrow, pandas or "
                              "polars table, or a dict of arrays", code="invalid_argument",
                              value=type(data).__name__)
        data = pa.table(data)
    for k, c in names.items():
        if c in data.column_names:
            col = data.column(c).cast(pa.float64())
            _refuse_nulls(k, col.is_null().to_numpy(zero_copy_only=False)
                          if on_invalid == "raise" and col.null_count else None)
            out[k] = np.ascontiguousarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out


def _refuse_nulls(name: str, is_null: npt.NDArray[np.bool_] | None) -> None:
    if is_null is None or not is_null.any():
        return
    i = int(np.argmax(is_null))
    raise ConfigError(f"row {i}: {name} = null: a missing value (pass on_invalid='null' to get a null row)",
                      code="invalid_argument", value="null", column=name, index=i)
