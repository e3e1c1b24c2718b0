"""Serving-engine token counters (FORMATS.md §10, §17) from Prometheus files.

:func:`read_token_counters` reads ``vllm:prompt_tokens_total``,
``vllm:generation_tokens_total`` and the ``sglang:`` counters of the same
names from a text scrape of ``/metrics`` (one or many concatenated; untimed
scrapes need a ``# scrape_time <unix seconds>`` line before each) or from a
Prometheus query result (``query_range`` JSON), into :class:`TokenCounters`:
one row per series and time (canonical ``TokenCounterSample``), and the
tokens each model processed over the file.

- ``advance`` says when a counter moves: ``per_iteration`` (vLLM, as tokens
  are produced) or ``on_completion`` (SGLang, when a request finishes; windows
  shorter than a request see nothing).
- A row holds both counters of one series at one time; a counter with no
  sample at that time is ``NaN`` there (absent, never zero).
- Totals are Prometheus ``increase`` without extrapolation: differences of
  consecutive samples per series, a decrease (or a changed ``*_created``
  start time) counting as a restart from zero. Tokens between the last
  sample and a restart are lost, and a series with fewer than two samples
  has no increase: either makes ``lower_bound`` true. A model whose series
  never had two samples has ``None`` totals, with a ``reason``.

Fractional or negative token counts are a typed :class:`epcore.EpcoreError`
naming file, line and value (read the raw counters, not ``rate()``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core

__all__ = ["ModelTokenTotals", "TokenCounters", "read_token_counters"]

Advance = Literal["per_iteration", "on_completion"]


@dataclass(frozen=True)
class ModelTokenTotals:
    """Tokens one model processed between the first and last samples of the file."""

    model: str
    advance: Advance
    #: ``None`` when no series of the model had two samples of the counter.
    prompt_tokens: int | None
    generation_tokens: int | None
    n_series: int
    n_samples_prompt: int
    n_samples_generation: int
    #: Restarts (counter decreases or changed ``*_created``), both counters.
    n_resets: int
    #: Tokens may be missing: a restart, or a series with a single sample.
    lower_bound: bool
    first_t_ns: int | None
    last_t_ns: int | None

    @property
    def reason(self) -> str | None:
        """Why a total is ``None`` (``None`` when both are known)."""
        if self.prompt_tokens is not None and self.generation_tokens is not None:
            return None
        return "fewer than two samples of a counter in every series: no increase can be measured"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``reason`` included)."""
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["reason"] = self.reason
        return d


@dataclass(frozen=True, eq=False)
class TokenCounters:
    """Token counter samples (one row per series and time, sorted by time) and per-model totals."""

    t_ns: npt.NDArray[np.int64]
    model: npt.NDArray[np.str_]
    instance: npt.NDArray[np.str_]
    advance: npt.NDArray[np.str_]
    #: ``NaN`` where the series had no sample of the counter at that time.
    prompt_tokens_total: npt.NDArray[np.float64]
    generation_tokens_total: npt.NDArray[np.float64]
    #: Source line of each row (its first sample).
    line: npt.NDArray[np.uint64]
    #: By model name, in order of first appearance.
    totals: dict[str, ModelTokenTotals]
    format: str
    source: str
    skipped: dict[str, int]
    warnings: tuple[str, ...]
    truncated_tail: bool
    unterminated_final_line: bool

    def __len__(self) -> int:
        return int(self.t_ns.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Totals and file facts, JSON-ready (no arrays, no NaN)."""
        return {
            "source": self.source,
            "format": self.format,
            "n_rows": len(self),
            "totals": {m: t.to_dict() for m, t in self.totals.items()},
            "skipped": dict(self.skipped),
            "warnings": list(self.warnings),
            "truncated_tail": self.truncated_tail,
            "unterminated_final_line": self.unterminated_final_line,
        }


def read_token_counters(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    chunk_bytes: int = 1 << 20,
    max_decompressed_bytes: int | None = None,
    max_ratio: float = 250.0,
    progress: Callable[[int], None] | None = None,
) -> TokenCounters:
    """Read vLLM/SGLang token counters from a Prometheus scrape or query result.

    ``format`` is ``"prometheus"`` (text exposition) or ``"prometheus-json"``;
    ``None`` sniffs the content. gzip and zstd are undone transparently.

    >>> import epcore, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "vllm.prom"
    >>> _ = p.write_text(
    ...     "# scrape_time 1717000000\\n"
    ...     'vllm:generation_tokens_total{model_name="m"} 27453.0\\n'
    ...     "# scrape_time 1717000015\\n"
    ...     'vllm:generation_tokens_total{model_name="m"} 28453.0\\n'
    ... )
    >>> tc = epcore.read_token_counters(p)
    >>> tc.totals["m"].generation_tokens, tc.totals["m"].advance, len(tc)
    (1000, 'per_iteration', 2)
    """
    cols, series, totals, info = _core.read_token_counters(
        os.fspath(path),
        format,
        chunk_bytes=chunk_bytes,
        max_decompressed_bytes=max_decompressed_bytes,
        max_ratio=max_ratio,
        progress=progress,
    )
    index = np.asarray(cols["series_index"], dtype=np.intp)

    def per_row(k: int) -> npt.NDArray[np.str_]:
        names = np.array([s[k] for s in series], dtype=np.str_)
        return names[index] if len(names) else np.array([], dtype=np.str_)

    by_model: dict[str, ModelTokenTotals] = {}
    for d in totals:
        by_model[str(d["model"])] = ModelTokenTotals(
            model=str(d["model"]),
            advance=d["advance"],
            prompt_tokens=d["prompt_tokens"],
            generation_tokens=d["generation_tokens"],
            n_series=int(d["n_series"]),
            n_samples_prompt=int(d["prompt_n_samples"]),
            n_samples_generation=int(d["generation_n_samples"]),
            n_resets=int(d["prompt_n_resets"]) + int(d["generation_n_resets"]),
            lower_bound=bool(d["lower_bound"]),
            first_t_ns=d["first_t_ns"],
            last_t_ns=d["last_t_ns"],
        )
    return TokenCounters(
        t_ns=np.asarray(cols["t_ns"], dtype=np.int64),
        model=per_row(0),
        instance=per_row(1),
        advance=per_row(2),
        prompt_tokens_total=np.asarray(cols["prompt_tokens_total"], dtype=np.float64),
        generation_tokens_total=np.asarray(cols["generation_tokens_total"], dtype=np.float64),
        line=np.asarray(cols["line"], dtype=np.uint64),
        totals=by_model,
        format=str(info["format"]),
        source=str(info["path"]),
        skipped={str(k): int(v) for k, v in info["skipped"]},
        warnings=tuple(str(w) for w in info["warnings"]),
        truncated_tail=bool(info["truncated_tail"]),
        unterminated_final_line=bool(info["unterminated_final_line"]),
    )
