"""One trace analysis, run in a worker thread: read, attribute, draw, summarise.

:func:`run_analysis` reads the uploaded power trace (and request log) with
progress callbacks and decompression caps, attributes the energy, and returns
the JSON the page shows: ``energy``, ``attribution``, display ``headline``
rows, ``distribution`` rows, ``quality`` (with display rows), ``warnings``
and the SVG figures of :mod:`epcore.svg`. Upload paths never leave the
server: wherever the core names the file, the display name replaces the path.

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "abc"
>>> _ = p.write_text("timestamp_ns,power_w\\n0,300\\n1000000000,300\\n2000000000,300\\n")
>>> from epcore.console.jobs import Job
>>> spec = AnalysisSpec(power=(p, "gpu.csv", p.stat().st_size), requests=None)
>>> out = run_analysis(Job("x"), spec, Limits())
>>> out["energy"]["energy_j"], out["energy"]["source"], [h["value"] for h in out["headline"]][:1]
(600.0, 'gpu.csv', ['600'])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..attribution import Attribution, attribute
from ..display import fmt_number
from ..request_logs import Requests, read_requests
from ..trace import PowerTrace, read_power
from .jobs import Job

__all__ = ["AnalysisSpec", "Limits", "run_analysis", "scrub"]

# (path on disk, display name, size in bytes)
FileRef = tuple[Path, str, int]


@dataclass(frozen=True)
class Limits:
    """Decompression caps: a file may expand to ``max_ratio`` × its size, and never past
    ``max_decompressed_bytes`` (a 10 MB gzip bomb stops at the cap, not at 10 GB)."""

    max_decompressed_bytes: int = 4 << 30
    max_ratio: float = 250.0
    # Small files may expand more than max_ratio (a 1 kB gzip of a 1 MB trace is fine).
    min_cap_bytes: int = 64 << 20

    def cap(self, size: int) -> int:
        """The decompressed-bytes cap of a ``size``-byte file.

        >>> Limits().cap(1000) == 64 << 20, Limits().cap(10 << 20) == 2500 << 20
        (True, True)
        """
        return int(min(self.max_decompressed_bytes, max(size * self.max_ratio, self.min_cap_bytes)))


@dataclass(frozen=True)
class AnalysisSpec:
    """What to analyse and how (the body of ``POST /api/analyses``, checked)."""

    power: FileRef
    requests: FileRef | None
    format: str | None = None
    requests_format: str | None = None
    tz: str | None = None
    weight: str = "tokens"
    idle_w: str | float = "auto"
    offset_ns: int = 0


def scrub(obj: Any, names: dict[str, str]) -> Any:
    """``obj`` with every server path in ``names`` replaced by its display name (strings, recursively).

    >>> scrub({"m": "/tmp/x/ab: line 2", "l": ["/tmp/x/ab"]}, {"/tmp/x/ab": "gpu.csv"})
    {'m': 'gpu.csv: line 2', 'l': ['gpu.csv']}
    """
    if isinstance(obj, str):
        for path, name in names.items():
            obj = obj.replace(path, name)
        return obj
    if isinstance(obj, dict):
        return {k: scrub(v, names) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [scrub(v, names) for v in obj]
    return obj


def _progress(job: Job, start: float, span: float, size: int, stage: str) -> Callable[[int], None]:
    job.update(start, stage)

    def update(bytes_read: int) -> None:
        # Compressed inputs may report more bytes than the file holds: clamp, never exceed the stage.
        job.update(start + span * min(1.0, bytes_read / max(1, size)))

    return update


def run_analysis(job: Job, spec: AnalysisSpec, limits: Limits) -> dict[str, Any]:
    """Analyse ``spec``'s files, reporting progress on ``job``; the JSON result (paths scrubbed)."""
    names = {str(spec.power[0]): spec.power[1]}
    if spec.requests is not None:
        names[str(spec.requests[0])] = spec.requests[1]
    try:
        out: dict[str, Any] = scrub(_analyse(job, spec, limits), names)
        return out
    except BaseException as e:
        # The error message names the file: show the display name, not our tmp path.
        if isinstance(e, Exception) and hasattr(e, "args") and e.args and isinstance(e.args[0], str):
            e.args = (scrub(e.args[0], names), *e.args[1:])
            for attr in ("path", "reason", "hint"):
                v = getattr(e, attr, None)
                if isinstance(v, str):
                    setattr(e, attr, scrub(v, names))
        raise


def _analyse(job: Job, spec: AnalysisSpec, limits: Limits) -> dict[str, Any]:
    path, _, size = spec.power
    trace = read_power(
        path, format=spec.format, tz=spec.tz, max_decompressed_bytes=limits.cap(size), max_ratio=limits.max_ratio,
        progress=_progress(job, 0.02, 0.48 if spec.requests else 0.78, size, "reading power trace"),
    )
    requests: Requests | None = None
    attribution: Attribution | None = None
    if spec.requests is not None:
        rpath, _, rsize = spec.requests
        requests = read_requests(
            rpath, format=spec.requests_format, max_decompressed_bytes=limits.cap(rsize),  # type: ignore[arg-type]
            progress=_progress(job, 0.5, 0.25, rsize, "reading request log"),
        )
        job.update(0.76, "attributing energy to requests")
        attribution = attribute(trace, requests, weight=spec.weight, idle_w=spec.idle_w,  # type: ignore[arg-type]
                                offset_ns=spec.offset_ns)
    job.update(0.85, "drawing figures")
    svgs, figure_warnings = _figures(trace, requests, attribution, spec.offset_ns)
    job.update(0.97, "summarising")
    warnings = list(trace.result.quality.warnings)
    if attribution is not None:
        warnings += [str(w) for w in attribution.quality.get("warnings", [])]
    warnings += figure_warnings
    return {
        "energy": trace.result.to_dict(),
        "format": trace.format,
        "attribution": None if attribution is None else attribution.to_dict(requests=False),
        "headline": _headline(trace, attribution),
        "distribution": [] if attribution is None else _distribution_rows(attribution),
        "svgs": svgs,
        "quality": {
            "trace": trace.quality.to_dict(),
            "requests": None if requests is None else requests.quality.to_dict(),
            "rows": _quality_rows(trace),
        },
        "warnings": warnings,
    }


def _figures(trace: PowerTrace, requests: Requests | None, attribution: Attribution | None,
             offset_ns: int) -> tuple[dict[str, str], list[str]]:
    """The figures that apply; one that cannot be drawn (no tokens to divide by...) is left out with a note."""
    from .. import plot_data, svg

    svgs: dict[str, str] = {}
    notes: list[str] = []
    jobs: list[tuple[str, Callable[[], str]]] = [
        ("power", lambda: svg.power_svg(plot_data.power_plot(trace, requests, offset_ns=offset_ns))),
    ]
    if requests is not None and attribution is not None:
        jobs += [
            ("jpt", lambda: svg.joules_per_token_svg(plot_data.joules_per_token_plot(trace, requests,
                                                                                     offset_ns=offset_ns))),
            ("histogram", lambda: svg.histogram_svg(plot_data.energy_histogram(attribution))),
            ("phases", lambda: svg.phases_svg(plot_data.phase_split(attribution))),
        ]
    from ..exceptions import EpcoreError

    for key, draw in jobs:
        try:
            svgs[key] = draw()
        except EpcoreError as e:
            notes.append(f"figure {key} not drawn: {' '.join(str(e).split())}")
    return svgs, notes


def _row(label: str, value: float | int | None, unit: str) -> dict[str, str]:
    return {"label": label, "value": fmt_number(value), "unit": unit}


def _headline(trace: PowerTrace, a: Attribution | None) -> list[dict[str, str]]:
    r = trace.result
    rows = [
        _row("total energy", r.energy_j, "J"),
        _row("total energy", r.energy_wh, "Wh"),
        _row("duration", r.duration_s, "s"),
        _row("mean power", r.mean_power_w, "W"),
    ]
    if a is not None:
        idle = math.fsum(a.idle_w.values()) if a.idle_w else None
        rows = [
            _row("energy per output token", a.joules_per_output_token, "J/token"),
            _row("energy per input token (prefill)", a.joules_per_input_token, "J/token"),
            _row("decode energy per token", a.decode_joules_per_token, "J/token"),
            _row("energy per token (input + output)", a.joules_per_token, "J/token"),
            *rows,
            _row("attributed energy", a.attributed_energy_j, "J"),
            _row("unattributed (no request active)", a.unattributed_energy_j, "J"),
            _row("idle power", idle, "W"),
            _row("requests", a.n_requests, ""),
            _row("requests measured", a.n_attributed, ""),
            _row("output tokens", a.output_tokens, ""),
        ]
    return rows


_DIST_LABELS = {
    "energy_j": ("energy per request", "J"),
    "dynamic_energy_j": ("energy above idle per request", "J"),
    "joules_per_output_token": ("energy per output token", "J/token"),
    "joules_per_input_token": ("energy per input token", "J/token"),
    "decode_joules_per_token": ("decode energy per token", "J/token"),
    "joules_per_token": ("energy per token", "J/token"),
    "prefill_energy_j": ("prefill energy per request", "J"),
    "decode_energy_j": ("decode energy per request", "J"),
}


def _distribution_rows(a: Attribution) -> list[dict[str, Any]]:
    """Per-request figures: n, mean, p50, p90, p99, max as display strings."""
    out = []
    for name, d in a.distribution.items():
        label, unit = _DIST_LABELS.get(name, (name, ""))
        out.append({"name": name, "label": label, "unit": unit, "n": fmt_number(int(d["n"])),
                    **{k: fmt_number(d.get(k)) for k in ("mean", "min", "p50", "p90", "p99", "max")}})
    return out


def _quality_rows(trace: PowerTrace) -> list[dict[str, str]]:
    q = trace.quality
    cov = q.coverage
    rows = [
        ("format", f"{trace.format}" + (f" ({q.compression})" if q.compression else "")),
        ("samples", fmt_number(int(q.n_samples))),
        ("channels", ", ".join(trace.channels)),
        ("method", str(q.method)),
        ("coverage", "—" if cov is None else f"{cov:.1%}"),
        ("gaps", f"{int(q.n_gaps):,} ({fmt_number(float(q.gap_s))} s)"),
        ("rows repaired", fmt_number(int(q.n_repairs))),
        ("power semantics", str(q.power_semantics)),
        ("time zone", "naive (read as UTC)" if q.naive_time else (q.tz or "UTC")),
        ("complete", "yes" if q.complete else "no"),
    ]
    return [{"label": k, "value": v} for k, v in rows]
