"""Carbon and electricity cost of a measured power trace: ∫P(t)·I(t)dt, not average × average.

- :func:`grid_intensity` looks a code up in the shipped table (gCO2e/kWh with
  year, source and licence): ISO2 or ISO3 country codes (``DE``, ``DEU``),
  cloud regions (``gcp:europe-west1``), US states (``US-CA``), Nordic bidding
  zones (``SE-SE1``) and ``WORLD``. :data:`GRID_REGIONS` lists the codes.
- :func:`read_intensity` and :func:`read_prices` read hourly (any step) series
  in common export layouts: Electricity Maps, WattTime/Zeus, ENTSO-E day-ahead
  (``MTU (UTC)``), and generic ``timestamp,g_co2_per_kwh`` /
  ``timestamp,price_per_kwh`` files. A value holds from its timestamp until the
  next one (interval-start labels); the last one for one more step.
- :func:`carbon` and :func:`electricity_cost` integrate a constant, a table
  entry or a series against a :class:`~epcore.PowerTrace`: the trace's exact
  energy inside each series interval × that interval's value. Each result also
  gives the naive figure (energy × the series' time-average over the same
  time) and the difference. Figures are location-based; ``pue`` scales IT
  energy to the facility (default 1.0: IT only; the industry average is about
  1.56, Uptime 2024).

>>> import epcore
>>> g = epcore.grid_intensity("DE")
>>> g.code, g.g_co2_per_kwh, g.year, g.licence
('DEU', 380.95, 2023, 'CC-BY-4.0')
>>> tr = epcore.PowerTrace.from_samples({"gpu": ([0, 3600 * 10**9], [1000.0, 1000.0])})
>>> r = epcore.carbon(tr, "DE")
>>> r.energy_kwh, r.emissions_g, r.emissions_kg
(1.0, 380.95, 0.38095)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import timestamps_ns, values_f64
from .exceptions import ConfigError
from .trace import PowerTrace

__all__ = [
    "GRID_REGIONS",
    "CarbonResult",
    "CostResult",
    "GridIntensity",
    "IntervalSeries",
    "carbon",
    "electricity_cost",
    "grid_intensity",
    "grid_regions",
    "read_intensity",
    "read_prices",
]

J_PER_KWH = 3.6e6


@dataclass(frozen=True)
class GridIntensity:
    """One row of the shipped grid-intensity table (location-based, annual)."""

    code: str
    alias: str | None
    kind: str
    name: str
    g_co2_per_kwh: float
    year: int
    source: str
    licence: str
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def grid_intensity(region: str) -> GridIntensity:
    """The shipped intensity of ``region`` (case-insensitive ISO2, ISO3, cloud key…).

    An unknown code raises :class:`epcore.ConfigError` (code ``unknown_code``)
    with the closest codes in its hint.

    >>> grid_intensity("gcp:us-central1").g_co2_per_kwh
    430.0
    >>> grid_intensity("DEX")
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: unknown grid region 'DEX'; hint: did you mean DEU, ...?
    """
    return GridIntensity(**_core.grid_intensity(str(region)))


def grid_regions() -> tuple[GridIntensity, ...]:
    """Every row of the shipped table: countries, ``WORLD``, cloud regions, US states, bidding zones.

    >>> len(grid_regions()) > 300
    True
    """
    return tuple(GridIntensity(**r) for r in _core.grid_regions())


#: Every code of the shipped table (aliases such as ``DE`` are accepted too).
GRID_REGIONS: tuple[str, ...] = tuple(r["code"] for r in _core.grid_regions())


@dataclass(frozen=True)
class IntervalSeries:
    """Values on intervals ``[start_ns[i], end_ns[i])``: gCO2e/kWh or money/kWh.

    ``unit`` is ``g_co2_per_kwh`` or ``per_kwh`` (in ``currency``). The rest
    says where the values came from: ``layout`` (``electricity_maps``,
    ``watttime_zeus``, ``entsoe_day_ahead``, ``generic``, ``arrays``),
    ``basis`` (``lifecycle``/``direct``), ``method`` (``location``/``marginal``),
    ``zone``, ``converted_from`` (the file's unit when converted), and row
    counts (``n_missing``: rows without a value, which leave holes).
    """

    start_ns: npt.NDArray[np.int64]
    end_ns: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    quantity: str
    unit: str
    currency: str | None = None
    layout: str = "arrays"
    basis: str | None = None
    method: str | None = None
    zone: str | None = None
    path: str | None = None
    column: str | None = None
    converted_from: str | None = None
    n_rows: int = 0
    n_missing: int = 0
    n_estimated: int = 0
    unit_assumed: bool = False

    def __len__(self) -> int:
        return int(self.value.size)

    @classmethod
    def _from_raw(cls, raw: dict[str, Any], **override: Any) -> IntervalSeries:
        meta = dict(raw["meta"])
        meta.update({k: v for k, v in override.items() if v is not None})
        return cls(start_ns=raw["start_ns"], end_ns=raw["end_ns"], value=raw["value"], **meta)

    @classmethod
    def from_labels(
        cls, t: npt.ArrayLike, values: npt.ArrayLike, *, quantity: str = "intensity", currency: str | None = None,
    ) -> IntervalSeries:
        """Interval-start labels: ``values[i]`` holds from ``t[i]`` to ``t[i+1]``, the
        last for one more step; NaN leaves a hole. ``t`` as int64 ns, datetime64 or float s.

        >>> s = IntervalSeries.from_labels([0, 3600 * 10**9], [200.0, 400.0])
        >>> s.end_ns.tolist(), s.unit
        ([3600000000000, 7200000000000], 'g_co2_per_kwh')
        """
        t_ns = timestamps_ns(t, "t")
        v = values_f64(values, "values")
        raw = _core.series_from_labels(t_ns, v, quantity)
        return cls._from_raw(raw, currency=_price_currency(quantity, currency))

    def to_dict(self) -> dict[str, Any]:
        """Metadata, interval count and span (JSON-safe; the arrays are left out)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("start_ns", "end_ns", "value")}
        d["n_intervals"] = len(self)
        d["start_ns"] = int(self.start_ns[0]) if len(self) else None
        d["end_ns"] = int(self.end_ns[-1]) if len(self) else None
        return d


def _price_currency(quantity: str, currency: str | None) -> str | None:
    if quantity != "price":
        return None
    return "USD" if currency is None else currency


def read_intensity(path: str | os.PathLike[str], basis: str = "lifecycle") -> IntervalSeries:
    """Read a carbon-intensity series (values in gCO2e/kWh after conversion).

    ``basis`` picks Electricity Maps' ``lifecycle`` (default) or ``direct`` column.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "ci.csv"
    >>> _ = p.write_text("timestamp,g_co2_per_kwh\\n2024-01-01T00:00:00Z,300\\n2024-01-01T01:00:00Z,500\\n")
    >>> s = read_intensity(p)
    >>> s.value.tolist(), s.layout, len(s)
    ([300.0, 500.0], 'generic', 2)
    """
    return IntervalSeries._from_raw(_core.read_series(os.fspath(path), "intensity", basis=basis))


def read_prices(
    path: str | os.PathLike[str], currency: str | None = None, *, allow_negative_price: bool = False,
) -> IntervalSeries:
    """Read an electricity-price series (values per kWh after conversion).

    ``currency`` is that of a file that names none (default USD); a file that
    names its own (ENTSO-E ``[EUR/MWh]``, ``eur_per_mwh``) keeps it, and asking
    for another is an error (convert results, never relabel prices). Negative
    prices are refused unless ``allow_negative_price``.

    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "prices.csv"
    >>> _ = p.write_text("timestamp,price_per_mwh\\n0,80\\n3600,120\\n")
    >>> s = read_prices(p, currency="EUR")
    >>> s.value.tolist(), s.currency, s.converted_from
    ([0.08, 0.12], 'EUR', 'per MWH')
    """
    raw = _core.read_series(os.fspath(path), "price", currency=currency, allow_negative=allow_negative_price)
    return IntervalSeries._from_raw(raw)


@dataclass(frozen=True)
class _Integral:
    """What both results share: energies, coverage, PUE and where the values came from."""

    energy_kwh: float
    covered_energy_kwh: float
    outside_energy_kwh: float
    facility_energy_kwh: float
    coverage: float
    pue: float
    difference_pct: float | None
    n_intervals: int
    n_intervals_used: int
    kind: str
    region: str | None
    source: str | None
    year: int | None
    licence: str | None
    layout: str | None
    zone: str | None
    path: str | None
    #: The series' own metadata (:meth:`IntervalSeries.to_dict`), when one was integrated.
    series: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """Every figure by name; None (never NaN) where one is unknown."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class CarbonResult(_Integral):
    """Location-based emissions of a trace. ``emissions_g`` is at the facility
    level (IT energy × ``pue``); ``it_emissions_g`` before PUE.

    ``mean_g_co2_per_kwh`` is the energy-weighted intensity (emissions ÷
    energy); ``naive_average_g`` is energy × the series' plain time-average over
    the same time (average × average); ``difference_g`` = emissions − naive.
    ``market_emissions_g`` is present when a market-based factor was given.
    """

    emissions_g: float = 0.0
    emissions_kg: float = 0.0
    it_emissions_g: float = 0.0
    mean_g_co2_per_kwh: float | None = None
    time_mean_g_co2_per_kwh: float | None = None
    naive_average_g: float | None = None
    difference_g: float | None = None
    basis: str | None = None
    method: str | None = None
    market_g_co2_per_kwh: float | None = None
    market_emissions_g: float | None = None


@dataclass(frozen=True)
class CostResult(_Integral):
    """Electricity cost of a trace in ``currency``: ``cost`` at the facility
    level, ``it_cost`` before PUE; ``naive_average_cost`` is energy × the
    series' time-average price, ``difference`` = cost − naive."""

    currency: str = "USD"
    cost: float = 0.0
    it_cost: float = 0.0
    mean_price_per_kwh: float | None = None
    time_mean_price_per_kwh: float | None = None
    naive_average_cost: float | None = None
    difference: float | None = None


def _channels(trace: PowerTrace) -> list[tuple[Any, Any, Any]]:
    if not isinstance(trace, PowerTrace):
        raise ConfigError(
            f"expected an epcore.PowerTrace (read_power or PowerTrace.from_samples), got {type(trace).__name__}",
            code="invalid_argument", value=type(trace).__name__,
        )
    return [(s.t_ns, s.values, trace.options) for s in trace.samples.values()]


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return None
    return float(x)


def _integrate(
    trace: PowerTrace, values: Any, quantity: str, pue: float, allow_partial: bool, currency: str | None,
    basis: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The core integral and what is known of the values' origin."""
    channels = _channels(trace)
    const = _number(values)
    if const is not None:
        raw = _core.integrate_constant(channels, const, quantity, pue=float(pue))
        return raw, {"kind": "constant", "n_intervals": 1}
    if isinstance(values, str) and quantity == "intensity":
        g = grid_intensity(values)
        raw = _core.integrate_constant(channels, g.g_co2_per_kwh, quantity, pue=float(pue))
        return raw, {"kind": "grid", "region": g.code, "source": g.source, "year": g.year, "licence": g.licence,
                     "n_intervals": 1, "method": "location"}
    if isinstance(values, (str, os.PathLike)):
        if isinstance(values, str):
            raise ConfigError(
                f"prices must be a number per kWh, an IntervalSeries or a file path, got the string {values!r}",
                code="invalid_argument", value=values, hint="pass pathlib.Path(...) or read_prices(...) for a file",
            )
        values = read_intensity(values, basis) if quantity == "intensity" else read_prices(values, currency)
    if not isinstance(values, IntervalSeries):
        raise ConfigError(
            f"expected a number, a region code, a file path or an IntervalSeries, got {type(values).__name__}",
            code="invalid_argument", value=type(values).__name__,
        )
    if values.quantity != quantity:
        raise ConfigError(
            f"this series holds {values.quantity} values ({values.unit}); {quantity} values are needed here",
            code="invalid_argument", value=values.quantity,
        )
    trace.require_absolute_time(f"an {quantity} series" if quantity == "intensity" else "a price series")
    raw = _core.integrate_series(channels, values.start_ns, values.end_ns, values.value, quantity,
                                 pue=float(pue), allow_partial=allow_partial)
    return raw, {"kind": "series", "n_intervals": len(values), "layout": values.layout, "zone": values.zone,
                 "path": values.path, "basis": values.basis, "method": values.method, "currency": values.currency,
                 "source": values.path, "series": values.to_dict()}


def _shared(raw: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    covered_kwh = raw["covered_energy_j"] / J_PER_KWH
    return {
        "energy_kwh": raw["energy_j"] / J_PER_KWH,
        "covered_energy_kwh": covered_kwh,
        "outside_energy_kwh": raw["outside_energy_j"] / J_PER_KWH,
        "facility_energy_kwh": covered_kwh * raw["pue"],
        "coverage": raw["coverage"],
        "pue": raw["pue"],
        "difference_pct": raw["difference_pct"],
        "n_intervals": int(info["n_intervals"]),
        "n_intervals_used": int(raw["n_intervals_used"]),
        "kind": info["kind"],
        **{k: info.get(k) for k in ("region", "source", "year", "licence", "layout", "zone", "path", "series")},
    }


def carbon(
    trace: PowerTrace,
    intensity: float | str | os.PathLike[str] | IntervalSeries,
    *,
    pue: float = 1.0,
    allow_partial: bool = False,
    basis: str = "lifecycle",
    market_g_co2_per_kwh: float | None = None,
) -> CarbonResult:
    """Emissions of ``trace`` under ``intensity``: a number (gCO2e/kWh), a code
    of the shipped table (``"DE"``, ``"gcp:europe-west1"``), a file path
    (:class:`os.PathLike`, read with :func:`read_intensity` and ``basis``), or an
    :class:`IntervalSeries`.

    A series is integrated against the trace interval by interval. Trace time
    outside the series raises :class:`epcore.ConfigError` unless
    ``allow_partial``; then only the covered part is counted and the rest is
    reported (``coverage``, ``outside_energy_kwh``).

    >>> import epcore
    >>> tr = epcore.PowerTrace.from_samples(
    ...     {"gpu": ([0, 3600 * 10**9, 3600 * 10**9 + 1, 7200 * 10**9], [100.0, 100.0, 300.0, 300.0])})
    >>> s = IntervalSeries.from_labels([0, 3600 * 10**9], [200.0, 400.0])
    >>> r = carbon(tr, s)
    >>> round(r.emissions_g, 6), round(r.naive_average_g, 6), round(r.difference_pct, 3)
    (140.0, 120.0, 16.667)
    """
    raw, info = _integrate(trace, intensity, "intensity", pue, allow_partial, None, basis)
    market = None if market_g_co2_per_kwh is None else float(market_g_co2_per_kwh)
    if market is not None and not (math.isfinite(market) and market >= 0):
        raise ConfigError(f"market_g_co2_per_kwh = {market}: must be a finite number >= 0",
                          code="invalid_argument", value=str(market))
    facility_kwh = raw["covered_energy_j"] / J_PER_KWH * raw["pue"]
    return CarbonResult(
        **_shared(raw, info),
        emissions_g=raw["total"],
        emissions_kg=raw["total"] / 1000.0,
        it_emissions_g=raw["it_total"],
        mean_g_co2_per_kwh=raw["weighted_mean"],
        time_mean_g_co2_per_kwh=raw["time_mean"],
        naive_average_g=raw["naive_total"],
        difference_g=raw["difference"],
        basis=info.get("basis"),
        method=info.get("method") or "location",
        market_g_co2_per_kwh=market,
        market_emissions_g=None if market is None else facility_kwh * market,
    )


def electricity_cost(
    trace: PowerTrace,
    prices: float | os.PathLike[str] | IntervalSeries,
    *,
    currency: str | None = None,
    pue: float = 1.0,
    allow_partial: bool = False,
) -> CostResult:
    """Electricity cost of ``trace``: ``prices`` a number per kWh (in ``currency``,
    default USD), a file path (:func:`read_prices`) or a price :class:`IntervalSeries`.

    >>> import epcore
    >>> tr = epcore.PowerTrace.from_samples({"gpu": ([0, 3600 * 10**9], [2000.0, 2000.0])})
    >>> r = electricity_cost(tr, 0.10, currency="EUR")
    >>> round(r.cost, 12), r.currency
    (0.2, 'EUR')
    """
    raw, info = _integrate(trace, prices, "price", pue, allow_partial, currency, "lifecycle")
    cur = info.get("currency") or (currency if currency is not None else "USD")
    if not (len(cur) == 3 and cur.isascii() and cur.isalpha() and cur.isupper()):
        raise ConfigError(f"currency = {cur}: expected a three-letter upper-case ISO 4217 code such as USD or EUR",
                          code="invalid_argument", value=cur)
    if info["kind"] == "series" and currency is not None and currency != cur:
        raise ConfigError(
            f"the price series is in {cur}, not {currency}; convert the result rather than relabel the prices",
            code="invalid_argument", value=currency,
        )
    return CostResult(
        **_shared(raw, info),
        currency=cur,
        cost=raw["total"],
        it_cost=raw["it_total"],
        mean_price_per_kwh=raw["weighted_mean"],
        time_mean_price_per_kwh=raw["time_mean"],
        naive_average_cost=raw["naive_total"],
        difference=raw["difference"],
    )
