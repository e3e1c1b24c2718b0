"""Pickling: partials and options (the Rust objects) and every result object
that holds them, so pieces of a channel and whole results travel between
processes (Dask workers) and merge there exactly as in one process."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import epcore
from epcore import ParseError, _core

S = 1_000_000_000
T0 = 1_717_000_000 * S
DATA = Path(__file__).resolve().parent / "data"
PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)


def roundtrip(obj: Any, protocol: int = pickle.DEFAULT_PROTOCOL) -> Any:
    return pickle.loads(pickle.dumps(obj, protocol=protocol))


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares numpy arrays (masks included) and dataclasses field by field."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ma.MaskedArray):
        return bool(np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b))
                    and np.array_equal(np.ma.getdata(a), np.ma.getdata(b), equal_nan=a.dtype.kind == "f"))
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (a != a and b != b)
    if hasattr(a, "_cols"):  # RequestEnergies
        return same(a._cols, b._cols)
    return bool(a == b)


def trace(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """1 Hz samples with a 30 s gap in the middle, irregular values."""
    t = T0 + np.arange(n, dtype=np.int64) * S
    t[n // 2:] += 30 * S
    v = 150.0 + 40.0 * np.sin(np.arange(n) * 0.37) + np.arange(n) * 1e-3
    return t, v


# --------------------------------------------------------------------------- Partial


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_partial_pickles_exactly(protocol: int) -> None:
    t, v = trace()
    p = epcore.partial(t, v, max_gap_s=5.0)
    q = roundtrip(p, protocol)
    assert isinstance(q, _core.Partial)
    assert q == p
    assert q.to_bytes() == p.to_bytes()
    assert q.energy_j.hex() == p.energy_j.hex()
    assert q.to_dict() == p.to_dict()


def test_partial_bytes_and_reduce() -> None:
    t, v = trace()
    p = epcore.partial(t, v)
    b = p.to_bytes()
    assert isinstance(b, bytes) and b[:4] == b"EPCP" and len(b) == 236
    assert _core.Partial.from_bytes(b) == p
    fn, args = p.__reduce__()
    assert fn == _core.Partial.from_bytes and args == (b,)
    assert copy.deepcopy(p) == p and copy.copy(p) == p


def test_partial_first_and_last_value() -> None:
    t, v = trace()
    p = epcore.partial(t, v)
    assert (p.first_value, p.last_value) == (v[0], v[-1])
    assert (p.first_t_ns, p.last_t_ns) == (t[0], t[-1])
    # A leading NaN is dropped: the first *accepted* value is the next one.
    v2 = v.copy()
    v2[0] = np.nan
    assert epcore.partial(t, v2).first_value == v[1]
    empty = _core.partial_channel(np.array([], dtype=np.int64), np.array([], dtype=np.float64), epcore.options(), 1)
    assert (empty.first_value, empty.last_value, empty.n_samples) == (None, None, 0)
    assert roundtrip(empty) == empty


def test_counter_partial_keeps_its_options() -> None:
    t = T0 + np.arange(20, dtype=np.int64) * S
    c = (np.arange(20) * 250_000.0) % 2.0**20  # mJ counter that wraps at 2^20
    p = epcore.partial(t, c, rule="counter", counter_unit="mJ", counter_modulus=2.0**20, max_gap_s=10.0)
    q = roundtrip(p)
    assert q == p and q.method == "counter" and q.max_gap_ns == 10 * S
    assert q.to_dict()["n_wraps"] == p.to_dict()["n_wraps"] > 0
    assert q.energy_j == p.energy_j == 19 * 250.0


@pytest.mark.parametrize("cuts", [(1,), (50, 100), (99, 100, 101), (3, 77, 150, 199)])
def test_merge_of_unpickled_equals_merge_of_originals(cuts: tuple[int, ...]) -> None:
    t, v = trace()
    bounds = [0, *cuts, len(t)]
    pieces = [epcore.partial(t[a:b], v[a:b], max_gap_s=5.0) for a, b in zip(bounds, bounds[1:])]
    direct = epcore.merge(*pieces)
    via = epcore.merge(*(roundtrip(p) for p in pieces))
    whole = epcore.partial(t, v, max_gap_s=5.0)
    assert via == direct
    assert via.to_bytes() == direct.to_bytes()
    assert via.energy_j == whole.energy_j
    assert via.to_dict()["n_gaps"] == whole.to_dict()["n_gaps"] == 1


def test_damaged_bytes_raise_a_typed_error() -> None:
    b = epcore.partial(*trace()).to_bytes()
    for bad, what in [(b[:-1], "236"), (b"", "magic"), (b"XXXX" + b[4:], "magic"),
                      (b[:4] + b"\x09\x00" + b[6:], "version 9"), (b[:6] + b"\x05" + b[7:], "rule tag")]:
        with pytest.raises(ParseError, match=what) as e:
            _core.Partial.from_bytes(bad)
        assert e.value.code == "corrupt_input"
    with pytest.raises(TypeError):
        _core.Partial.from_bytes("not bytes")  # type: ignore[arg-type]


def test_partials_with_other_options_still_refuse_to_merge() -> None:
    t, v = trace()
    a = roundtrip(epcore.partial(t[:50], v[:50], max_gap_s=5.0))
    b = roundtrip(epcore.partial(t[50:], v[50:], max_gap_s=6.0))
    with pytest.raises(epcore.ConfigError, match="different options"):
        a.merge(b)


# --------------------------------------------------------------------------- Options


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_options_pickle_through_the_constructor(protocol: int) -> None:
    for o in [epcore.options(), epcore.options(rule="hold", max_gap_s=3.5, strict=True, negative_tolerance_w=0.0),
              epcore.options(rule="counter", counter_unit="uJ", counter_modulus=2.0**32, max_power_w=700.0)]:
        q = roundtrip(o, protocol)
        assert isinstance(q, _core.Options)
        assert q == o and hash(q) == hash(o)
        assert q.to_dict() == o.to_dict()
        assert _core.Options(**o.to_dict()) == o


def test_options_equality_is_by_value() -> None:
    assert epcore.options(max_gap_s=2.0) == epcore.options(max_gap_s=2.0)
    assert epcore.options(max_gap_s=2.0) != epcore.options(max_gap_s=3.0)
    assert epcore.options(negative_tolerance_w=0.0) == epcore.options(negative_tolerance_w=-0.0)
    assert hash(epcore.options(negative_tolerance_w=0.0)) == hash(epcore.options(negative_tolerance_w=-0.0))
    assert len({epcore.options(), epcore.options(), epcore.options(rule="hold")}) == 2
    assert epcore.options() != "options"


# --------------------------------------------------------------------------- result objects


def test_integration_result_and_quality_report_pickle() -> None:
    t, v = trace()
    r = epcore.integrate(t, {"a": v, "b": v * 0.5}, windows=[(t[0], t[10]), (t[10], t[-1])])
    q = roundtrip(r)
    assert same(q, r)
    assert q.energy_j == r.energy_j and q.to_dict() == r.to_dict()
    assert roundtrip(r.quality) == r.quality
    assert roundtrip(r.channels[0]) == r.channels[0]


def test_power_trace_pickles_with_its_options() -> None:
    tr = epcore.read_power(DATA / "sample_attribution_power.csv")
    q = roundtrip(tr)
    assert same(q, tr)
    assert q.options == tr.options
    assert q.integrate().energy_j == tr.energy_j


def test_requests_pickle_and_stay_read_only() -> None:
    rq = epcore.read_requests(DATA / "sample_attribution_requests.csv")
    q = roundtrip(rq)
    assert same(q, rq)
    assert q.quality == rq.quality
    assert not q.start_ns.flags.writeable and not q.output_tokens.flags.writeable
    with pytest.raises(ValueError):
        q.start_ns[0] = 0
    assert not copy.deepcopy(rq).end_ns.flags.writeable


def test_attribution_pickles() -> None:
    tr = epcore.read_power(DATA / "sample_attribution_power.csv")
    rq = epcore.read_requests(DATA / "sample_attribution_requests.csv")
    att = epcore.attribute(tr, rq)
    q = roundtrip(att)
    assert same(q, att)
    assert q.to_dict() == att.to_dict()
    assert q.joules_per_output_token == att.joules_per_output_token
