"""``epcore batch``: the steady-state figures of every row of a CSV or Parquet file.

Registered on :data:`epcore.cli.app` when :mod:`epcore.cli` is imported. The
command reads the scenarios with pyarrow (a Parquet file is recognised by its
magic bytes, anything else is read as CSV, compressed or not), converts them
with :func:`epcore.batch`, and writes the input columns followed by the figures
to ``--out`` (``.csv`` or ``.parquet``) and/or, with ``--csv``, as CSV on stdout
(the same bytes as ``--out x.csv``). Inputs missing from the file come from
the flags (``--price-per-kwh`` …) or the calculator's defaults; ``--column
power_w=avg_power_watts`` reads an input from a column of another name.

Exit codes: 0 ok; 1 bad input (one ``error:`` line: a bad row names its row,
column and value); 2 usage (neither ``--out`` nor ``--csv``, or ``--json`` with
``--csv``). ``--json`` prints a summary object for scripts.

>>> _renames(["power_w=avg_power_watts", "tokens_per_s = tps"])
{'power_w': 'avg_power_watts', 'tokens_per_s': 'tps'}
"""

from __future__ import annotations

import codecs
import importlib.util
import io
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .display import fmt_number
from .cli import (
    CSV_HELP,
    GRID_REGION_HELP,
    JSON_HELP,
    PANEL_STEADY,
    _bad_input_exits_1,
    _bars,
    _grid_g_co2,
    _LateProgress,
    _one_output,
    _out_kind,
    _print_json,
    _progress_for,
    _say,
    _stderr,
    _stdout,
    _usage,
    app,
)

__all__ = ["batch_command"]

_OUT_KINDS = (".csv", ".parquet")
# Rows per written slice: the progress bar moves once per slice.
_WRITE_ROWS = 1 << 20
_PARQUET_MAGIC = b"PAR1"
# What pyarrow's CSV reader decompresses by the file's extension (it does the same for a path).
_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4"}


class OnInvalidName(str, Enum):
    raise_ = "raise"
    null = "null"


def _renames(items: list[str] | None) -> dict[str, str]:
    """``INPUT=COLUMN`` (repeatable) → ``{input: column}``."""
    out: dict[str, str] = {}
    for item in items or ():
        name, eq, col = item.partition("=")
        name, col = name.strip(), col.strip()
        if not eq or not name or not col:
            raise typer.BadParameter(f"{item!r}: expected INPUT=COLUMN (e.g. power_w=avg_power_watts)",
                                     param_hint="--column")
        out[name] = col
    return out


@contextmanager
def _stages(enabled: bool) -> Iterator[Callable[[str, int | None], Callable[[int], None]]]:
    """A transient progress display on an interactive stderr, one line per stage, shown after a second."""
    if not enabled:
        yield lambda _label, _total: (lambda _done: None)
        return
    with _LateProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                       console=_stderr(), transient=True) as bar:
        def stage(label: str, total: int | None) -> Callable[[int], None]:
            task = bar.add_task(label, total=total)
            return lambda done: bar.update(task, completed=done)

        yield stage


class _CountingFile(io.FileIO):
    """A file that reports the bytes read so far, for the progress bar of a CSV read."""

    def __init__(self, path: Path, progress: Callable[[int], None]) -> None:
        super().__init__(path, "rb")
        self._progress = progress
        self._done = 0

    def read(self, size: int | None = -1) -> bytes:
        b = super().read(-1 if size is None else size) or b""
        self._count(len(b))
        return b

    def readinto(self, buffer: Any) -> int:
        n = super().readinto(buffer) or 0
        self._count(n)
        return n

    def _count(self, n: int) -> None:
        self._done += n
        self._progress(self._done)


def _read(path: Path, progress: Callable[[int], None] | None = None) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    with open(path, "rb") as f:
        head = f.read(4)
    if head == _PARQUET_MAGIC:
        return pq.read_table(path)
    if progress is None:
        return pa_csv.read_csv(path)
    # The same read through a file that counts its bytes (compressed bytes for a .gz: the file's size).
    with _CountingFile(path, progress) as raw:
        stream = pa.input_stream(raw, compression=_CODECS.get(path.suffix.lower()))
        return pa_csv.read_csv(stream)


class _StdoutSink(io.RawIOBase):
    """Bytes from pyarrow's CSV writer to ``sys.stdout`` as text, whatever stdout is (a terminal, a pipe,
    a test's StringIO)."""

    def __init__(self) -> None:
        super().__init__()
        self._decoder = codecs.getincrementaldecoder("utf-8")()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        sys.stdout.write(self._decoder.decode(data))
        return len(data)

    def flush(self) -> None:
        sys.stdout.flush()


def _write(table: Any, path: Path | None, kind: str, progress: Callable[[int], None]) -> None:
    """Write ``table`` to ``path`` (``.csv`` or ``.parquet``), or as CSV to stdout when ``path`` is None."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    sink: Any = pa.PythonFile(_StdoutSink(), mode="w") if path is None else path
    writer: Any = (pq.ParquetWriter(sink, table.schema) if kind == ".parquet"
                   else pa_csv.CSVWriter(sink, table.schema, write_options=_csv_options(table.column_names)))
    with writer:
        for start in range(0, max(table.num_rows, 1), _WRITE_ROWS):
            writer.write_table(table.slice(start, _WRITE_ROWS))
            progress(min(start + _WRITE_ROWS, table.num_rows))


def _csv_options(names: list[str]) -> Any:
    """Quote cells only where needed, and a header of plain names not at all (pyarrow quotes every
    column name otherwise, which few CSV readers expect)."""
    import pyarrow.csv as pa_csv

    plain = all(not set(n) & set(',"\r\n') for n in names)
    try:
        return pa_csv.WriteOptions(quoting_style="needed", quoting_header="none" if plain else "needed")
    except TypeError:  # pyarrow < 16 has no quoting_header
        return pa_csv.WriteOptions(quoting_style="needed")


def _output_table(inputs: Any, result: Any, keep_inputs: bool) -> Any:
    import pyarrow as pa

    figures = result.to_arrow()
    if not keep_inputs:
        return figures
    # A figure column replaces an input column of the same name (a results file read back in).
    kept = [c for c in inputs.column_names if c not in figures.column_names]
    arrays = [inputs.column(c) for c in kept] + [figures.column(c) for c in figures.column_names]
    fields = [inputs.schema.field(c) for c in kept] + list(figures.schema)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=figures.schema.metadata))


def _summary_table(result: Any, title: str) -> Table:
    t = Table(title=title)
    t.add_column("figure", no_wrap=True)
    for col in ("min", "mean", "max"):
        t.add_column(col, justify="right")
    ok = result.valid
    for name in result:
        v = result[name] if ok is None else result[name][ok]
        if v.size == 0:
            t.add_row(name, "—", "—", "—")
            continue
        t.add_row(name, fmt_number(float(v.min())), fmt_number(float(v.mean())), fmt_number(float(v.max())))
    return t


@app.command("batch", rich_help_panel=PANEL_STEADY)
def batch_command(
    scenarios: Annotated[Path, typer.Argument(help="CSV or Parquet file, one scenario per row, with columns "
                                                   "power_w, tokens_per_s and optionally price_per_kwh, "
                                                   "query_tokens, pue, grid_g_co2_per_kwh.", show_default=False)],
    out: Annotated[Path | None, typer.Option(help="Where to write the inputs and figures: .csv or .parquet "
                                                  "(this or --csv is required).", show_default=False)] = None,
    price_per_kwh: Annotated[float | None, typer.Option(help="Price per kWh for every row, in --currency, when "
                                                              "the file has no price_per_kwh column [0.08].")] = None,
    query_tokens: Annotated[float | None, typer.Option(help="Tokens per query when the file has no query_tokens "
                                                             "column [500].")] = None,
    pue: Annotated[float | None, typer.Option(help="PUE when the file has no pue column [1; the industry "
                                                   "average is 1.56, Uptime 2024]; > 1 adds facility figures.")] = None,
    grid_g_co2_per_kwh: Annotated[float | None, typer.Option(help="Grid intensity, gCO2/kWh, when the file has no "
                                                                  "grid_g_co2_per_kwh column; adds carbon.")] = None,
    grid: Annotated[str | None, typer.Option(help="Grid region from the shipped table (DE, US-CA, "
                                                  "gcp:europe-west1…) instead of --grid-g-co2-per-kwh.")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code of every cost figure.")] = "USD",
    price_currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the prices (default: --currency); "
                                                            "converted with the bundled ECB reference rates.")] = None,
    allow_negative_price: Annotated[bool, typer.Option("--allow-negative-price",
                                                       help="Accept negative prices.")] = False,
    column: Annotated[list[str] | None, typer.Option(help="INPUT=COLUMN: read an input from a column of another "
                                                          "name (repeatable).")] = None,
    outputs: Annotated[str | None, typer.Option(help="Comma-separated figures to compute (default: every IT "
                                                     "figure, carbon and facility ones when they apply).")] = None,
    no_inputs: Annotated[bool, typer.Option("--no-inputs", help="Write the figures only, not the input "
                                                                "columns.")] = False,
    on_invalid: Annotated[OnInvalidName, typer.Option(help="raise: a bad row is an error naming it; null: its "
                                                           "figures are empty and counted.")] = OnInvalidName.raise_,
    threads: Annotated[int, typer.Option(min=0, help="Threads (0: every core); the figures never depend on "
                                                     "it.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP + " A summary of the run.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help=CSV_HELP + " The inputs and figures of every row, as "
                                                                  "--out x.csv writes them.")] = False,
) -> None:
    """Steady-state energy, cost and carbon of every scenario in a file (millions of rows)."""
    _one_output(as_json, as_csv)
    if out is None and not as_csv:
        _usage("give --out FILE (.csv or .parquet) or --csv to write the figures")
    kind = None if out is None else _out_kind(out, _OUT_KINDS)
    grid_g_co2_per_kwh, region = _grid_g_co2(grid, grid_g_co2_per_kwh)
    renames = _renames(column)
    names = None if outputs is None else [s.strip() for s in outputs.split(",") if s.strip()]
    if importlib.util.find_spec("pyarrow") is None:
        _say("error", "epcore batch reads and writes files with pyarrow (pip install pyarrow)")
        raise typer.Exit(1)
    import pyarrow as pa

    from .batch import batch

    started = time.perf_counter()
    with _bad_input_exits_1():
        try:
            with _progress_for(scenarios) as progress:
                table = _read(scenarios, progress)
        except pa.ArrowException as e:
            _say("error", f"{scenarios}: {e}")
            raise typer.Exit(1) from None
    with _bad_input_exits_1(), _stages(_bars() and not as_json) as stage:
        try:
            stage(f"converting {table.num_rows:,} rows", None)
            result = batch(table, columns=renames or None, price_per_kwh=price_per_kwh, query_tokens=query_tokens,
                           pue=pue, grid_g_co2_per_kwh=grid_g_co2_per_kwh, currency=currency,
                           price_currency=price_currency, allow_negative_price=allow_negative_price, outputs=names,
                           threads=threads,
                           on_invalid=on_invalid.value)
            table_out = _output_table(table, result, keep_inputs=not no_inputs)
            if out is not None and kind is not None:
                _write(table_out, out, kind, stage(f"writing {out.name}", table_out.num_rows))
            if as_csv:
                _write(table_out, None, ".csv", stage("writing stdout", table_out.num_rows))
        except pa.ArrowException as e:
            _say("error", f"{scenarios}: {e}")
            raise typer.Exit(1) from None
    seconds = time.perf_counter() - started
    q = result.quality
    if q.n_invalid:
        first = q.first_invalid
        where = "" if first is None else f" (first: row {first.row}, {first.column} = {first.value}: {first.reason})"
        _say("warning", f"{q.n_invalid:,} of {q.n_rows:,} rows are outside the calculator's domain and were "
                        f"written as nulls{where}")
    if as_json:
        summary: dict[str, Any] = {"input": str(scenarios), "out": None if out is None else str(out),
                                   **q.to_dict(),
                                   "outputs": list(result), "currency": result.currency, "rate": result.rate,
                                   "rate_date": result.rate_date, "rate_source": result.rate_source,
                                   "grid": None if region is None else region.to_dict(),
                                   "seconds": round(seconds, 3)}
        _print_json(summary)
        return
    if as_csv:
        return  # stdout holds the table: no summary after it
    rate = f", {q.n_rows / seconds:,.0f} rows/s" if seconds > 0 else ""
    title = (f"{q.n_rows:,} rows → {out} ({len(result)} figures, {q.n_invalid:,} invalid, costs in "
             f"{result.currency}; {seconds:.2f} s read, converted and written{rate})")
    _stdout().print(_summary_table(result, title))

