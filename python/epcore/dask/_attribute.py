"""``epcore.dask.attribute``: energy per model or deployment across a fleet, one task per deployment.

A deployment is one power trace (one file, or several files of the same
channels, concatenated in time order) with its request log. Each task runs
:func:`epcore.attribute` and returns, per group, the per-request figures
needed for ratios of sums; the reduce adds them with ``math.fsum``.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..attribution import Attribution
from ..attribution import attribute as _attribute
from ..exceptions import ConfigError, EpcoreError
from ..trace import PowerTrace
from ._errors import in_file, io_error
from ._frames import records
from ._graph import compute_one, delayed, file_stamps, token
from ._inputs import PathsArg, Source, expand_files
from ._pieces import Params, read_trace

__all__ = ["attribute", "FleetAttribution", "FleetAttributionResult", "Deployment"]

By = Literal["model", "deployment"]
_SUMS = ("energy_j", "prefill_energy_j", "decode_energy_j", "out_tokens", "in_tokens", "dec_tokens")


@dataclass(frozen=True)
class Deployment:
    """One deployment: its power file(s) and request log."""

    name: str
    power: tuple[str, ...]
    requests: str


@dataclass(frozen=True)
class DeploymentPiece:
    """What one task returns: the deployment's totals and per-group terms (plain data)."""

    deployment: Deployment
    totals: dict[str, Any]
    #: group -> n_requests, input_tokens, output_tokens (exact ints).
    counts: dict[str, tuple[int, int, int]]
    #: group -> column -> per-request terms to add (requests with a valid figure only).
    terms: dict[str, dict[str, list[float]]]


@dataclass(frozen=True, eq=False)  # DataFrames have no boolean equality
class FleetAttributionResult:
    """Per-group and per-deployment energy and J/token (ratios of sums, <NA> where undefined)."""

    by: str
    groups: Any
    deployments: Any

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "groups": records(self.groups), "deployments": records(self.deployments)}


def _read_params(power_kwargs: tuple[tuple[str, Any], ...]) -> Params:
    """:func:`epcore.read_power` keyword arguments as task parameters."""
    kw = dict(power_kwargs)
    named: dict[str, Any] = {k: kw.pop(k) for k in ("format", "tz", "value", "prefer") if k in kw}
    if "channel" in kw:
        named["channel_by"] = kw.pop("channel")
    return Params(**named, read_kwargs=tuple(sorted(kw.items())))


def _power(dep: Deployment, power_kwargs: tuple[tuple[str, Any], ...]) -> PowerTrace:
    params = _read_params(power_kwargs)
    traces = [read_trace(Source(p), params) for p in dep.power]
    if len(traces) == 1:
        return traces[0]
    for tr, p in zip(traces, dep.power):
        if tr.quantity != "power":
            raise ConfigError(f"{p}: a deployment made of several files must hold power, not energy counters",
                              code="invalid_argument", path=p, hint="give one counter file per deployment")
        try:
            tr.require_absolute_time()
        except EpcoreError as e:
            raise in_file(e, p) from None
    order = sorted(range(len(traces)), key=lambda i: min(int(s.t_ns[0]) for s in traces[i].samples.values()
                                                        if len(s)))
    names = list(dict.fromkeys(n for i in order for n in traces[i].samples))
    chans: dict[str, tuple[Any, Any]] = {}
    for n in names:
        parts = [traces[i].samples[n] for i in order if n in traces[i].samples]
        chans[n] = (np.concatenate([s.t_ns for s in parts]), np.concatenate([s.values for s in parts]))
    return PowerTrace.from_samples(chans, source=",".join(dep.power))


def _group_terms(a: Attribution, by: str, name: str) -> tuple[dict[str, tuple[int, int, int]],
                                                                 dict[str, dict[str, list[float]]]]:
    rq = a.requests
    groups = [name] * len(rq) if by == "deployment" else [str(m) for m in rq["model"].tolist()]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    terms: dict[str, dict[str, list[float]]] = defaultdict(lambda: {k: [] for k in _SUMS})
    cols = {c: rq[c] for c in ("energy_j", "prefill_energy_j", "decode_energy_j")}
    masks = {c: np.ma.getmaskarray(v) for c, v in cols.items()}
    data = {c: np.ma.getdata(v) for c, v in cols.items()}
    cin, cout, cdec = (np.asarray(rq[c], dtype=np.float64) for c in
                       ("counted_input_tokens", "counted_output_tokens", "counted_decode_tokens"))
    tin, tout = np.asarray(rq["input_tokens"]), np.asarray(rq["output_tokens"])
    for i, g in enumerate(groups):
        c = counts[g]
        c[0] += 1
        c[1] += int(tin[i])
        c[2] += int(tout[i])
        t = terms[g]
        # Ratios of sums over the requests that got the figure, as epcore.attribute's totals.
        if not masks["energy_j"][i]:
            t["energy_j"].append(float(data["energy_j"][i]))
            t["out_tokens"].append(float(cout[i]))
        if not masks["prefill_energy_j"][i]:
            t["prefill_energy_j"].append(float(data["prefill_energy_j"][i]))
            t["in_tokens"].append(float(cin[i]))
        if not masks["decode_energy_j"][i]:
            t["decode_energy_j"].append(float(data["decode_energy_j"][i]))
            t["dec_tokens"].append(float(cdec[i]))
    return {g: (c[0], c[1], c[2]) for g, c in counts.items()}, dict(terms)


def run_deployment(dep: Deployment, by: str, kwargs: tuple[tuple[str, Any], ...],
                   power_kwargs: tuple[tuple[str, Any], ...] = ()) -> DeploymentPiece:
    """The task run once per deployment."""
    trace = _power(dep, power_kwargs)
    try:
        a = _attribute(trace, dep.requests, **dict(kwargs))
    except EpcoreError as e:
        path = e.path if e.path in dep.power else dep.requests
        raise in_file(e, path if path is not None else dep.requests) from None
    except OSError as e:
        raise io_error(e, dep.requests) from None
    counts, terms = _group_terms(a, by, dep.name)
    return DeploymentPiece(dep, a.totals(), counts, terms)


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def reduce_deployments(pieces: Sequence[DeploymentPiece], by: str) -> FleetAttributionResult:
    """Sum per group (exactly rounded sums), then divide."""
    import pandas as pd

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    terms: dict[str, dict[str, list[float]]] = defaultdict(lambda: {k: [] for k in _SUMS})
    for p in pieces:
        for g, (n, i, o) in p.counts.items():
            c = counts[g]
            c[0] += n
            c[1] += i
            c[2] += o
        for g, t in p.terms.items():
            for k in _SUMS:
                terms[g][k].extend(t[k])
    rows = []
    for g in sorted(counts):
        s = {k: math.fsum(terms[g][k]) for k in _SUMS}
        rows.append({
            "group": g, "n_requests": counts[g][0], "input_tokens": counts[g][1], "output_tokens": counts[g][2],
            "energy_j": s["energy_j"], "prefill_energy_j": s["prefill_energy_j"],
            "decode_energy_j": s["decode_energy_j"],
            "joules_per_output_token": _ratio(s["energy_j"], s["out_tokens"]),
            "joules_per_input_token": _ratio(s["prefill_energy_j"], s["in_tokens"]),
            "decode_joules_per_token": _ratio(s["decode_energy_j"], s["dec_tokens"]),
        })
    groups = pd.DataFrame(rows, columns=_GROUP_COLUMNS).astype(_GROUP_DTYPES)
    dep_rows = [{"deployment": p.deployment.name, "power": ",".join(p.deployment.power),
                 "requests": p.deployment.requests, **{k: p.totals[k] for k in _DEPLOYMENT_TOTALS}}
                for p in pieces]
    deployments = pd.DataFrame(dep_rows, columns=["deployment", "power", "requests", *_DEPLOYMENT_TOTALS])
    deployments = deployments.astype({c: "Float64" for c in _DEPLOYMENT_TOTALS if c.startswith("joules")} |
                                     {c: "string" for c in ("deployment", "power", "requests")})
    return FleetAttributionResult(by, groups, deployments)


_GROUP_COLUMNS = ["group", "n_requests", "input_tokens", "output_tokens", "energy_j", "prefill_energy_j",
                  "decode_energy_j", "joules_per_output_token", "joules_per_input_token", "decode_joules_per_token"]
_GROUP_DTYPES = {"group": "string", "n_requests": "int64", "input_tokens": "int64", "output_tokens": "int64",
                 "energy_j": "float64", "prefill_energy_j": "float64", "decode_energy_j": "float64",
                 "joules_per_output_token": "Float64", "joules_per_input_token": "Float64",
                 "decode_joules_per_token": "Float64"}
_DEPLOYMENT_TOTALS = ("n_requests", "input_tokens", "output_tokens", "total_energy_j", "attributed_energy_j",
                      "unattributed_energy_j", "joules_per_output_token", "joules_per_input_token",
                      "decode_joules_per_token")


class FleetAttribution:
    """A lazy fleet attribution: one task per deployment and one reduce; :meth:`compute` runs it."""

    def __init__(self, deployments: list[Deployment], by: str, kwargs: tuple[tuple[str, Any], ...],
                 power_kwargs: tuple[tuple[str, Any], ...] = ()) -> None:
        self.deployments = tuple(deployments)
        tok = token(deployments, by, kwargs, power_kwargs,
                    file_stamps(p for d in deployments for p in (*d.power, d.requests)))
        self.pieces = [delayed(run_deployment, d, by, kwargs, power_kwargs, key=f"epcore-attribute-{i}-{tok}")
                       for i, d in enumerate(deployments)]
        self.delayed = delayed(reduce_deployments, self.pieces, by, key=f"epcore-attribute-sum-{tok}")

    def __repr__(self) -> str:
        return f"FleetAttribution(deployments={len(self.deployments)})"

    def compute(self, **dask_compute_kwargs: Any) -> FleetAttributionResult:
        """Run the graph on the current Dask scheduler (``scheduler=`` etc. pass through)."""
        result = compute_one(self.delayed, **dask_compute_kwargs)
        assert isinstance(result, FleetAttributionResult)
        return result


def _name(power: str, taken: set[str]) -> str:
    stem = Path(power).name.split(".")[0] or Path(power).name
    return stem if stem not in taken else Path(power).name


def _deployments(power_paths: PathsArg | None, request_paths: PathsArg | None,
                 pairs: Mapping[str, tuple[Any, Any]] | None) -> list[Deployment]:
    if pairs is not None:
        if power_paths is not None or request_paths is not None:
            raise ConfigError("pass power_paths and request_paths, or pairs=, not both", code="invalid_argument")
        out = []
        for name, (power, reqs) in pairs.items():
            out.append(Deployment(str(name), tuple(expand_files(power, f"pairs[{name!r}] power")),
                                  os.fspath(reqs)))
        if not out:
            raise ConfigError("pairs is empty", code="invalid_argument", value="{}")
        return out
    if power_paths is None or request_paths is None:
        raise ConfigError("pass power_paths and request_paths (paired in sorted order), or pairs=",
                          code="invalid_argument")
    power = expand_files(power_paths, "power_paths")
    reqs = expand_files(request_paths, "request_paths")
    if len(power) != len(reqs):
        raise ConfigError(
            f"{len(power)} power files but {len(reqs)} request logs: deployments pair them in sorted order",
            code="length_mismatch", value=f"{len(power)} vs {len(reqs)}",
            hint="give equally many of each, or pairs={deployment: (power, requests)}",
        )
    taken: set[str] = set()
    out = []
    for p, r in zip(power, reqs):
        name = _name(p, taken)
        taken.add(name)
        out.append(Deployment(name, (p,), r))
    return out


def attribute(
    power_paths: PathsArg | None,
    request_paths: PathsArg | None,
    *,
    by: By | None = "model",
    pairs: Mapping[str, tuple[Any, Any]] | None = None,
    read_power_kwargs: Mapping[str, Any] | None = None,
    **attribute_kwargs: Any,
) -> FleetAttribution:
    """Energy and J/token per model (or deployment) over many deployments, with Dask.

    Deployments pair ``power_paths`` and ``request_paths`` (globs or lists)
    in sorted order, or come from ``pairs={deployment: (power file(s),
    request log)}``. Each runs :func:`epcore.attribute` (keyword arguments
    pass through) in its own task; the reduce adds per group, with J/token as
    ratios of sums. ``by="model"`` groups by the request log's model column,
    ``"deployment"`` (or None) by deployment. ``read_power_kwargs`` go to
    :func:`epcore.read_power` for the power files (``tz=`` for naive
    nvidia-smi logs, ``format=``, ``channel=``...).

    >>> import epcore.dask as ed, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "n1.csv").write_text("time_s,power_w\\n1750000000,200\\n1750000010,200\\n")
    >>> _ = (d / "n1.req.csv").write_text("request_id,start_time,first_token_time,end_time,input_tokens,"
    ...     "output_tokens,model\\na,1750000002,1750000003,1750000006,100,31,m\\n")
    >>> att = ed.attribute([d / "n1.csv"], [d / "n1.req.csv"], idle_w="off")
    >>> r = att.compute(scheduler="synchronous")
    >>> r.groups[["group", "n_requests", "energy_j"]].values.tolist()
    [['m', 1, 800.0]]
    """
    group_by = "deployment" if by is None else by
    if group_by not in ("model", "deployment"):
        raise ConfigError(f"by = {by!r}: expected 'model', 'deployment' or None", code="invalid_argument",
                          value=repr(by))
    deployments = _deployments(power_paths, request_paths, pairs)
    return FleetAttribution(deployments, group_by, tuple(sorted(attribute_kwargs.items())),
                            tuple(sorted((read_power_kwargs or {}).items())))
