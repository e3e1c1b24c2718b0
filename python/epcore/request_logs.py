"""Request and benchmark logs as the canonical requests table (FORMATS.md §11, §17).

:func:`read_requests` reads a request log (format sniffed from its content, or
named) into :class:`Requests`: one row per request with its id, start, first
token and end (int64 ns since the epoch, UTC), input and output tokens, model,
success flag, the source of its token counts and its line in the file.

=========  ====================================================================
format     what it reads
=========  ====================================================================
``csv``    ``request_id,start_time,[first_token_time,]end_time,input_tokens,
           output_tokens``: epoch seconds (≤ 9 decimals, read exactly) or
           RFC 3339 with an offset; or ``start_ns``/``first_token_ns``/``end_ns``
           integers; optional ``model``, ``ok``, ``token_source``
``vllm``   ``vllm bench serve --save-result --save-detailed`` JSON
``sglang`` ``python -m sglang.bench_serving --output-details`` JSONL
``aiperf`` NVIDIA AIPerf ``profile_export.jsonl`` (``profiling`` phase only
           by default)
``ollama`` Ollama ``/api/generate`` records, one per line (``started_utc``,
           ``ended_utc``, ``prompt_eval_count``, ``eval_count``)
=========  ====================================================================

vLLM and SGLang record latencies, not when each request was sent:
``start_times``, when present, are epoch seconds (used as they are) or
``time.perf_counter()`` readings, which need ``anchor_ns`` (the wall-clock
time, ns since the epoch, at which the earliest request was sent; each start
is ``anchor_ns + (t - min t)``). Without ``start_times``, pass every start in
``start_ns``. There ``first_token = start + ttft`` and
``end = start + ttft + sum(itls)``.

Every bad input is a typed :class:`epcore.EpcoreError` naming the file, line,
column (or JSON key path) and value: negative or fractional token counts,
``end < start``, a first token outside ``[start, end]``, a request id repeated
with other values (an exact repeat is dropped and counted), a key repeated in
one JSON object, JSON nested deeper than ``max_json_depth``. A last line cut
short (file still being written) is dropped with a warning.
"""

from __future__ import annotations

import collections
import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from .exceptions import ConfigError

__all__ = ["REQUEST_FORMATS", "TOKEN_SOURCES", "RequestLogQuality", "Requests", "read_requests", "sniff_requests"]

RequestFormat = Literal["csv", "vllm", "sglang", "aiperf", "ollama"]
TokenSource = Literal["usage", "stream_chunks", "retokenized", "unknown"]

#: Names accepted by ``format=``.
REQUEST_FORMATS: tuple[RequestFormat, ...] = ("csv", "vllm", "sglang", "aiperf", "ollama")
#: Labels of where token counts came from.
TOKEN_SOURCES: tuple[TokenSource, ...] = ("usage", "stream_chunks", "retokenized", "unknown")

#: The columns of the table, in order.
COLUMNS = (
    "request_id", "start_ns", "first_token_ns", "end_ns", "input_tokens", "output_tokens", "model", "ok",
    "token_source", "line",
)
_TIME_COLUMNS = ("start_ns", "first_token_ns", "end_ns")


@dataclass(frozen=True)
class RequestLogQuality:
    """What reading the log found: counts of what was kept, skipped or repaired.

    ``timing`` says where start times came from: ``file``, ``anchor_ns`` or
    ``start_ns``. ``skipped`` counts records read but not kept, by reason
    (``benchmark_phase=warmup``, ``done=false (stream chunk)``);
    ``n_duplicate_identical`` counts rows that repeated an earlier row exactly
    and were dropped; ``token_sources`` counts rows per token source.
    """

    source: str
    format: str
    n_requests: int
    n_records: int
    n_lines: int
    timing: str = "file"
    n_duplicate_identical: int = 0
    skipped: tuple[tuple[str, int], ...] = ()
    token_sources: tuple[tuple[str, int], ...] = ()
    had_bom: bool = False
    compression: str | None = None
    unterminated_final_line: bool = False
    truncated_tail: bool = False
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_skipped(self) -> int:
        """Records read but not kept."""
        return sum(n for _, n in self.skipped)

    @property
    def n_repairs(self) -> int:
        """Rows dropped by a documented repair (exact repeats, a cut last line)."""
        return self.n_duplicate_identical + int(self.truncated_tail)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "source": self.source,
            "format": self.format,
            "n_requests": self.n_requests,
            "n_records": self.n_records,
            "n_lines": self.n_lines,
            "timing": self.timing,
            "n_duplicate_identical": self.n_duplicate_identical,
            "skipped": dict(self.skipped),
            "token_sources": dict(self.token_sources),
            "had_bom": self.had_bom,
            "compression": self.compression,
            "unterminated_final_line": self.unterminated_final_line,
            "truncated_tail": self.truncated_tail,
            "warnings": list(self.warnings),
        }


def _optional(module: str, method: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"Requests.{method}() needs {module}: pip install {module}") from e


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False, repr=False)
class Requests:
    """The requests of one log, column by column (numpy arrays, read-only).

    ``start_ns``, ``end_ns``, ``input_tokens`` and ``output_tokens`` are int64;
    ``first_token_ns`` is an int64 masked array (masked where no first token
    was recorded); ``request_id``, ``model`` (None where unknown) and
    ``token_source`` are object arrays of str; ``ok`` is bool; ``line`` is the
    1-based line of each request in the (decompressed) file (for vLLM and
    SGLang, the line where its run starts).

    The table exports (:meth:`to_arrow`, :meth:`to_pandas`, :meth:`to_polars`)
    type the three time columns as ``timestamp[ns, UTC]`` (FORMATS.md §17).

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "requests.csv"
    >>> _ = p.write_text(
    ...     "request_id,start_time,first_token_time,end_time,input_tokens,output_tokens\\n"
    ...     "a,1750000000,1750000000.25,1750000002,100,20\\n"
    ...     "b,2025-06-15T15:06:41Z,,2025-06-15T15:06:44.5Z,50,30\\n"
    ... )
    >>> r = epcore.read_requests(p)
    >>> len(r), r.total_input_tokens, r.total_output_tokens, r.n_failed
    (2, 150, 50, 0)
    >>> r.first_token_ns.tolist()
    [1750000000250000000, None]
    >>> r.duration_s
    4.5
    """

    request_id: npt.NDArray[np.object_]
    start_ns: npt.NDArray[np.int64]
    first_token_ns: np.ma.MaskedArray[Any, np.dtype[np.int64]]
    end_ns: npt.NDArray[np.int64]
    input_tokens: npt.NDArray[np.int64]
    output_tokens: npt.NDArray[np.int64]
    model: npt.NDArray[np.object_]
    ok: npt.NDArray[np.bool_]
    token_source: npt.NDArray[np.object_]
    line: npt.NDArray[np.uint64]
    quality: RequestLogQuality

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (Dask workers, caches) with the columns read-only again:
        numpy arrays come back from a pickle writable, the table promises otherwise."""
        for name, value in state.items():
            if isinstance(value, np.ma.MaskedArray):
                _frozen(value.data)
                _frozen(np.ma.getmaskarray(value))
            elif isinstance(value, np.ndarray):
                _frozen(value)
            object.__setattr__(self, name, value)

    @classmethod
    def _from_core(cls, cols: dict[str, Any], info: dict[str, Any]) -> Requests:
        def objects(values: list[Any]) -> npt.NDArray[np.object_]:
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return _frozen(out)

        has_first = np.asarray(cols["has_first_token"], dtype=bool)
        first = np.ma.MaskedArray(np.asarray(cols["first_token_ns"], dtype=np.int64), mask=~has_first)
        _frozen(first.data)
        _frozen(np.ma.getmaskarray(first))
        sources = collections.Counter(str(s) for s in cols["token_source"])
        n = len(cols["request_id"])
        quality = RequestLogQuality(
            source=str(info["path"]),
            format=str(info["format"]),
            n_requests=n,
            n_records=int(info["n_records"]),
            n_lines=int(info["n_lines"]),
            timing=str(info["timing"]),
            n_duplicate_identical=int(info["n_duplicate_identical"]),
            skipped=tuple((str(k), int(v)) for k, v in info["skipped"]),
            token_sources=tuple(sorted(sources.items())),
            had_bom=bool(info["had_bom"]),
            compression=info["compression"],
            unterminated_final_line=bool(info["unterminated_final_line"]),
            truncated_tail=bool(info["truncated_tail"]),
            warnings=tuple(str(w) for w in info["warnings"]),
        )
        return cls(
            request_id=objects(cols["request_id"]),
            start_ns=_frozen(np.asarray(cols["start_ns"], dtype=np.int64)),
            first_token_ns=first,
            end_ns=_frozen(np.asarray(cols["end_ns"], dtype=np.int64)),
            input_tokens=_frozen(np.asarray(cols["input_tokens"], dtype=np.int64)),
            output_tokens=_frozen(np.asarray(cols["output_tokens"], dtype=np.int64)),
            model=objects(cols["model"]),
            ok=_frozen(np.asarray(cols["ok"], dtype=bool)),
            token_source=objects(cols["token_source"]),
            line=_frozen(np.asarray(cols["line"], dtype=np.uint64)),
            quality=quality,
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        start_ns: npt.ArrayLike,
        end_ns: npt.ArrayLike,
        input_tokens: npt.ArrayLike,
        output_tokens: npt.ArrayLike,
        first_token_ns: Any = None,
        request_id: Any = None,
        model: Any = None,
        ok: Any = None,
        token_source: TokenSource = "unknown",
        source: str = "<arrays>",
    ) -> Requests:
        """A requests table from columns in memory: times int64 ns (or
        datetime64); ``first_token_ns`` None, or a sequence with None (or a
        masked array) where a request has no first token; ``request_id``
        defaults to ``"0"``, ``"1"``, ….

        >>> import epcore
        >>> r = epcore.Requests.from_arrays(start_ns=[0, 5], end_ns=[10, 20], first_token_ns=[2, None],
        ...                                 input_tokens=[100, 50], output_tokens=[9, 4])
        >>> len(r), r.has_first_token.tolist(), r.request_id.tolist()
        (2, [True, False], ['0', '1'])
        """
        start = _times(start_ns, "start_ns")
        n = start.size
        end = _times(end_ns, "end_ns")
        cols: dict[str, Any] = {"start_ns": start, "end_ns": end}
        for name, v in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
            a = np.asarray(v)
            if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
                raise ConfigError(f"{name} must be a 1-d sequence of integers, got {a.dtype}",
                                  code="invalid_argument", value=str(a.dtype))
            if a.size and int(a.min()) < 0:
                i = int(np.argmin(a))
                raise ConfigError(f"{name}[{i}] = {int(a[i])}: token counts are integers >= 0",
                                  code="invalid_argument", value=str(int(a[i])))
            cols[name] = a.astype(np.int64)
        if first_token_ns is None:
            first = np.zeros(n, dtype=np.int64)
            has = np.zeros(n, dtype=bool)
        elif isinstance(first_token_ns, np.ma.MaskedArray):
            has = ~np.ma.getmaskarray(first_token_ns)
            first = _times(np.asarray(first_token_ns.filled(0)), "first_token_ns")
        else:
            items = list(first_token_ns)
            has = np.array([x is not None for x in items], dtype=bool)
            first = _times(np.array([0 if x is None else x for x in items]), "first_token_ns")
        ids = [str(i) for i in range(n)] if request_id is None else [str(x) for x in request_id]
        models = [None] * n if model is None else [None if m is None else str(m) for m in model]
        oks = np.ones(n, dtype=bool) if ok is None else np.asarray(ok, dtype=bool)
        lengths = {"end_ns": len(end), "first_token_ns": len(first), "has_first_token": len(has),
                   "request_id": len(ids), "model": len(models), "ok": len(oks),
                   "input_tokens": len(cols["input_tokens"]), "output_tokens": len(cols["output_tokens"])}
        for name, length in lengths.items():
            if length != n:
                raise ConfigError(f"{name} has {length} rows, start_ns has {n}", code="length_mismatch",
                                  value=str(length))
        if token_source not in TOKEN_SOURCES:
            raise ConfigError(f"token_source = {token_source!r}: expected one of {TOKEN_SOURCES}",
                              code="invalid_argument", value=str(token_source))
        cols.update(first_token_ns=first, has_first_token=has, request_id=ids, model=models, ok=oks,
                    token_source=[token_source] * n, line=np.zeros(n, dtype=np.uint64))
        info = {"path": source, "format": "arrays", "n_records": n, "n_lines": 0, "timing": "arrays",
                "n_duplicate_identical": 0, "skipped": [], "had_bom": False, "compression": None,
                "unterminated_final_line": False, "truncated_tail": False, "warnings": []}
        return cls._from_core(cols, info)

    def __len__(self) -> int:
        return int(self.start_ns.size)

    def __repr__(self) -> str:
        return (
            f"Requests(n={len(self)}, format={self.quality.format!r}, input_tokens={self.total_input_tokens}, "
            f"output_tokens={self.total_output_tokens}, failed={self.n_failed})"
        )

    @property
    def has_first_token(self) -> npt.NDArray[np.bool_]:
        """True where a first token was recorded."""
        return ~np.ma.getmaskarray(self.first_token_ns)

    @property
    def total_input_tokens(self) -> int:
        """Input tokens of every request, failed ones included."""
        return int(self.input_tokens.sum())

    @property
    def total_output_tokens(self) -> int:
        """Output tokens of every request, failed ones included."""
        return int(self.output_tokens.sum())

    @property
    def n_failed(self) -> int:
        """Requests with ``ok`` false (an error, a cancellation, a non-2xx status)."""
        return int(np.count_nonzero(~self.ok))

    @property
    def span_ns(self) -> tuple[int, int]:
        """(earliest start, latest end), ns since the epoch."""
        return int(self.start_ns.min()), int(self.end_ns.max())

    @property
    def duration_s(self) -> float:
        """Seconds from the earliest start to the latest end."""
        a, b = self.span_ns
        return (b - a) / 1e9

    def rows(self) -> Iterator[dict[str, Any]]:
        """Each request as a dict of plain Python values (None where missing)."""
        cols = self.to_dict()
        for i in range(len(self)):
            yield {c: cols[c][i] for c in COLUMNS}

    def to_dict(self) -> dict[str, list[Any]]:
        """The columns as JSON-ready lists (None where a value is missing)."""
        return {
            "request_id": self.request_id.tolist(),
            "start_ns": self.start_ns.tolist(),
            "first_token_ns": self.first_token_ns.tolist(),
            "end_ns": self.end_ns.tolist(),
            "input_tokens": self.input_tokens.tolist(),
            "output_tokens": self.output_tokens.tolist(),
            "model": self.model.tolist(),
            "ok": self.ok.tolist(),
            "token_source": self.token_source.tolist(),
            "line": self.line.tolist(),
        }

    def summary(self) -> dict[str, Any]:
        """Counts, totals and span, JSON-ready (what ``epcore tokens --json`` prints).

        ``ok_input_tokens`` / ``ok_output_tokens`` count successful requests only.

        >>> import epcore, pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
        >>> _ = p.write_text("request_id,start_ns,end_ns,input_tokens,output_tokens,ok\\n"
        ...                  "a,1750000000000000000,1750000002000000000,10,4,true\\n"
        ...                  "b,1750000001000000000,1750000003000000000,7,0,false\\n")
        >>> s = epcore.read_requests(p).summary()
        >>> s["n_failed"], s["total_input_tokens"], s["ok_input_tokens"], s["duration_s"]
        (1, 17, 10, 3.0)
        """
        a, b = self.span_ns
        return {
            "source": self.quality.source,
            "format": self.quality.format,
            "n_requests": len(self),
            "n_ok": len(self) - self.n_failed,
            "n_failed": self.n_failed,
            "n_with_first_token": int(np.count_nonzero(self.has_first_token)),
            "total_input_tokens": self.total_input_tokens,
            "total_output_tokens": self.total_output_tokens,
            "ok_input_tokens": int(self.input_tokens[self.ok].sum()),
            "ok_output_tokens": int(self.output_tokens[self.ok].sum()),
            "start_ns": a,
            "end_ns": b,
            "duration_s": self.duration_s,
            "token_sources": dict(self.quality.token_sources),
            "models": sorted({m for m in self.model.tolist() if m is not None}),
        }

    def to_arrow(self) -> Any:
        """A pyarrow table of the columns; times as ``timestamp[ns, UTC]`` (needs pyarrow)."""
        pa = _optional("pyarrow", "to_arrow")
        ts = pa.timestamp("ns", tz="UTC")
        return pa.table({
            "request_id": pa.array(self.request_id.tolist(), type=pa.string()),
            "start_ns": pa.array(self.start_ns, type=ts),
            "first_token_ns": pa.array(
                self.first_token_ns.data, mask=np.ma.getmaskarray(self.first_token_ns), type=ts
            ),
            "end_ns": pa.array(self.end_ns, type=ts),
            "input_tokens": pa.array(self.input_tokens, type=pa.int64()),
            "output_tokens": pa.array(self.output_tokens, type=pa.int64()),
            "model": pa.array(self.model.tolist(), type=pa.string()),
            "ok": pa.array(self.ok, type=pa.bool_()),
            "token_source": pa.array(self.token_source.tolist(), type=pa.string()),
            "line": pa.array(self.line, type=pa.uint64()),
        })

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow PyCapsule stream of :meth:`to_arrow`, for polars, duckdb and pandas (needs pyarrow)."""
        return self.to_arrow().__arrow_c_stream__(requested_schema)

    def to_pandas(self) -> Any:
        """A pandas DataFrame; times as ``datetime64[ns, UTC]`` (NaT where missing) (needs pandas)."""
        pd = _optional("pandas", "to_pandas")
        d: dict[str, Any] = {}
        for c in COLUMNS:
            if c in _TIME_COLUMNS:
                values = self.first_token_ns.filled(0) if c == "first_token_ns" else getattr(self, c)
                t = pd.to_datetime(np.asarray(values), unit="ns", utc=True)
                if c == "first_token_ns":
                    t = t.where(self.has_first_token)
                d[c] = t
            else:
                d[c] = getattr(self, c)
        return pd.DataFrame(d)

    def to_polars(self) -> Any:
        """A polars DataFrame; times as ``Datetime("ns", "UTC")`` (null where missing) (needs polars)."""
        pl = _optional("polars", "to_polars")
        ts = pl.Datetime("ns", "UTC")
        d: dict[str, Any] = {}
        for c in COLUMNS:
            if c in _TIME_COLUMNS:
                values = self.first_token_ns.tolist() if c == "first_token_ns" else getattr(self, c)
                d[c] = pl.Series(c, values, dtype=pl.Int64).cast(ts)
            elif c in ("request_id", "model", "token_source"):
                d[c] = pl.Series(c, getattr(self, c).tolist(), dtype=pl.String)
            else:
                d[c] = pl.Series(c, getattr(self, c))
        return pl.DataFrame(d)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the canonical request CSV with exact integer-ns times; :func:`read_requests` reads it back.

        Columns: ``request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model,ok,token_source``
        (empty where missing). Fields are quoted when they hold a comma, a quote or edge spaces; a line
        break inside a request id or model is written quoted, but epcore's reader does not read it back.

        >>> import epcore, pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "in.csv").write_text("request_id,start_time,end_time,input_tokens,output_tokens,model\\n"
        ...                               'a,1750000000.25,1750000001,3,4,"llama, 8B"\\n')
        >>> r = epcore.read_requests(d / "in.csv")
        >>> r.to_csv(d / "out.csv")
        >>> print((d / "out.csv").read_text(), end="")
        request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model,ok,token_source
        a,1750000000250000000,,1750000001000000000,3,4,"llama, 8B",true,unknown
        >>> epcore.read_requests(d / "out.csv").to_dict() == r.to_dict()
        True
        """
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("request_id,start_ns,first_token_ns,end_ns,input_tokens,output_tokens,model,ok,token_source\n")
            first = self.first_token_ns.tolist()
            for i in range(len(self)):
                model = self.model[i]
                cells = [
                    _csv_cell(str(self.request_id[i])),
                    str(int(self.start_ns[i])),
                    "" if first[i] is None else str(first[i]),
                    str(int(self.end_ns[i])),
                    str(int(self.input_tokens[i])),
                    str(int(self.output_tokens[i])),
                    "" if model is None else _csv_cell(str(model)),
                    "true" if self.ok[i] else "false",
                    str(self.token_source[i]),
                ]
                f.write(",".join(cells) + "\n")


def _csv_cell(s: str) -> str:
    # Quote what the reader would otherwise split or trim.
    if s == "" or s != s.strip(" \t") or any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def _times(v: Any, what: str) -> npt.NDArray[np.int64]:
    a = np.asarray(v)
    if a.dtype.kind == "M":
        a = a.astype("datetime64[ns]").astype(np.int64)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise ConfigError(f"{what} must be a 1-d sequence of integer ns since the epoch (or datetime64), got "
                          f"{a.dtype} with shape {a.shape}", code="invalid_argument", value=str(a.dtype))
    return np.ascontiguousarray(a, dtype=np.int64)


def _anchor(anchor_ns: Any) -> int | None:
    if anchor_ns is None:
        return None
    if isinstance(anchor_ns, np.datetime64):
        return int(anchor_ns.astype("datetime64[ns]").astype(np.int64))
    if isinstance(anchor_ns, bool) or not isinstance(anchor_ns, (int, np.integer)):
        raise ConfigError(
            f"anchor_ns = {anchor_ns!r}: must be an integer number of ns since the epoch",
            code="invalid_argument",
            value=repr(anchor_ns),
            hint="e.g. int(datetime(2025, 6, 15, tzinfo=timezone.utc).timestamp()) * 10**9",
        )
    return int(anchor_ns)


def _starts(start_ns: Any) -> npt.NDArray[np.int64] | None:
    if start_ns is None:
        return None
    a = np.asarray(start_ns)
    if a.dtype.kind == "M":
        a = a.astype("datetime64[ns]").astype(np.int64)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise ConfigError(
            f"start_ns must be a 1-d sequence of integer ns since the epoch, got {a.dtype} with shape {a.shape}",
            code="invalid_argument",
            value=str(a.dtype),
        )
    return np.ascontiguousarray(a, dtype=np.int64)


def read_requests(
    path: str | os.PathLike[str],
    *,
    format: RequestFormat | None = None,
    anchor_ns: int | np.datetime64 | None = None,
    start_ns: npt.ArrayLike | None = None,
    phase: str | None = "profiling",
    token_source: TokenSource | None = None,
    chunk_bytes: int = 1 << 20,
    max_record_bytes: int = 1 << 20,
    max_document_bytes: int = 256 << 20,
    max_json_depth: int = 64,
    max_decompressed_bytes: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Requests:
    """Read a request or benchmark log into the canonical requests table.

    ``format`` is one of :data:`REQUEST_FORMATS`, or None to recognise the
    content. gzip and zstd files are read directly. ``anchor_ns`` and
    ``start_ns`` place vLLM/SGLang requests in time (module docs);
    ``phase`` keeps AIPerf records of that ``benchmark_phase`` (None: all);
    ``token_source`` relabels every row's token counts (e.g. ``"usage"`` for an
    AIPerf run with ``--use-server-token-count``). ``progress(bytes_read)`` is
    called between chunks; Ctrl-C interrupts.

    >>> import epcore, json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "vllm.json"
    >>> _ = p.write_text(json.dumps({"backend": "vllm", "input_lens": [12, 30], "output_lens": [4, 0],
    ...     "ttfts": [0.25, 0.0], "itls": [[0.125, 0.125, 0.25], []], "start_times": [812.5, 813.0],
    ...     "errors": ["", "Bad Gateway"]}))
    >>> r = epcore.read_requests(p, anchor_ns=1_750_000_000_000_000_000)
    >>> r.quality.format, r.quality.timing
    ('vllm', 'anchor_ns')
    >>> (r.end_ns - r.start_ns).tolist(), r.ok.tolist()
    ([750000000, 0], [True, False])
    """
    cols, info = _core.read_requests(
        os.fspath(path),
        format,
        anchor_ns=_anchor(anchor_ns),
        start_ns=_starts(start_ns),
        phase=phase,
        token_source=token_source,
        chunk_bytes=chunk_bytes,
        max_record_bytes=max_record_bytes,
        max_document_bytes=max_document_bytes,
        max_json_depth=max_json_depth,
        max_decompressed_bytes=max_decompressed_bytes,
        progress=progress,
    )
    return Requests._from_core(cols, info)


def sniff_requests(path: str | os.PathLike[str]) -> RequestFormat | None:
    """The request-log format a file's content shows, or None.

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = p.write_text('{"metadata": {"x_request_id": "a", "request_start_ns": 1}}\\n')
    >>> epcore.request_logs.sniff_requests(p)
    'aiperf'
    """
    name = _core.sniff_requests(os.fspath(path))
    if name is None:
        return None
    for f in REQUEST_FORMATS:
        if f == name:
            return f
    return None
