"""Steady-state economics: what a token costs in joules, money and carbon.

The arithmetic lives in the Rust core (``epcore._core.steady_state``); this
module names the figures and keeps them frozen. Money is a currency code plus
an amount: every ``cost_*`` figure is in ``SteadyState.currency``. A price
typed in another currency (``price_currency``) is converted with the bundled
ECB table or the :class:`epcore.currency.Rates` passed as ``rates``, and the
result records the ``rate``, its ``rate_date`` and ``rate_source``.

>>> r = steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, currency="USD")
>>> r.joules_per_token
2.24
>>> round(r.cost_per_million_tokens, 6), r.currency
(0.049778, 'USD')
>>> round(r.wh_per_query, 5), round(r.queries_per_kwh, 2)
(0.31111, 3214.29)
>>> b = steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, price_currency="USD", currency="BRL")
>>> b.rate == 6.3647 / 1.1252, b.rate_date
(True, '2025-05-09')
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from . import _core
from .currency import Rates

__all__ = ["SteadyState", "SteadyStateFigures", "steady_state"]


@dataclass(frozen=True)
class SteadyStateFigures:
    """Energy, cost and carbon per token and per query, at one level (IT or facility).

    Carbon figures are None when no grid intensity was given.
    """

    joules_per_token: float
    wh_per_token: float
    kwh_per_million_tokens: float
    cost_per_million_tokens: float
    wh_per_query: float
    cost_per_query: float
    queries_per_kwh: float
    tokens_per_kwh: float
    g_co2_per_query: float | None
    g_co2_per_million_tokens: float | None

    def to_dict(self) -> dict[str, float | None]:
        """The figures by name; None (never NaN) where a figure is unknown."""
        return {f.name: getattr(self, f.name) for f in fields(SteadyStateFigures)}


_FIGURE_NAMES = tuple(f.name for f in fields(SteadyStateFigures))


@dataclass(frozen=True)
class SteadyState(SteadyStateFigures):
    """IT-level figures (the inherited fields), the inputs that produced them,
    and ``facility``: the same figures with energy × PUE, present only when ``pue > 1``.

    ``price_per_kwh`` is in ``price_currency``; costs are in ``currency``;
    ``rate`` is units of ``currency`` per unit of ``price_currency`` (1.0,
    with ``rate_date`` and ``rate_source`` None, when they are the same).
    """

    currency: str
    power_w: float
    tokens_per_s: float
    price_per_kwh: float
    query_tokens: float
    pue: float
    grid_g_co2_per_kwh: float | None
    facility: SteadyStateFigures | None
    price_currency: str | None = None
    rate: float = 1.0
    rate_date: str | None = None
    rate_source: str | None = None

    @property
    def it(self) -> SteadyStateFigures:
        """The IT-level figures alone."""
        return SteadyStateFigures(**{n: getattr(self, n) for n in _FIGURE_NAMES})

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: IT figures at the top level, inputs, and ``facility`` (a dict or None)."""
        d: dict[str, Any] = asdict(self)
        d["facility"] = None if self.facility is None else self.facility.to_dict()
        return d


def steady_state(
    *,
    power_w: float,
    tokens_per_s: float,
    price_per_kwh: float = 0.08,
    currency: str = "USD",
    query_tokens: float = 500,
    pue: float = 1.0,
    grid_g_co2_per_kwh: float | None = None,
    allow_negative_price: bool = False,
    price_currency: str | None = None,
    rates: Rates | None = None,
) -> SteadyState:
    """Energy, cost and carbon of serving at constant ``power_w`` and ``tokens_per_s``.

    ``price_per_kwh`` is in ``price_currency`` (default: ``currency``) and
    every cost is shown in ``currency`` (upper-case ISO 4217 codes); when they
    differ the price is converted with ``rates`` (default: the bundled ECB
    table of 2025-05-09, :meth:`epcore.currency.Rates.bundled`).
    ``pue`` > 1 adds facility-level figures; ``grid_g_co2_per_kwh`` adds carbon.
    Zero, negative or non-finite power or throughput, ``pue`` < 1, a bad
    currency code, or a negative price (unless ``allow_negative_price``) raise
    :class:`epcore.ConfigError` (also a ``ValueError``); no figure is ever inf or NaN.
    An unknown code lists close matches; a currency the rate table lacks says
    to pass a rate.

    >>> r = steady_state(power_w=5600, tokens_per_s=2500, pue=1.2, grid_g_co2_per_kwh=400)
    >>> r.facility.joules_per_token, round(r.g_co2_per_query, 6)
    (2.688, 0.124444)
    >>> steady_state(power_w=5600, tokens_per_s=0)
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: tokens_per_s = 0: must be > 0
    >>> fixed = Rates.from_mapping({"USD": 1.1252, "BRL": 6.3957}, date="2025-05-09")
    >>> r = steady_state(power_w=5600, tokens_per_s=2500, price_currency="USD", currency="BRL", rates=fixed)
    >>> r.rate == 6.3957 / 1.1252, f"{r.cost_per_query:.4g}"
    (True, '0.0001415')
    """
    raw: dict[str, Any] = _core.steady_state(
        float(power_w),
        float(tokens_per_s),
        price_per_kwh=float(price_per_kwh),
        currency=currency,
        query_tokens=float(query_tokens),
        pue=float(pue),
        grid_g_co2_per_kwh=None if grid_g_co2_per_kwh is None else float(grid_g_co2_per_kwh),
        allow_negative_price=allow_negative_price,
        price_currency=price_currency,
        rates=None if rates is None else rates._raw(),
    )
    facility = raw["facility"]
    return SteadyState(
        **raw["it"],
        currency=raw["currency"],
        power_w=float(power_w),
        tokens_per_s=float(tokens_per_s),
        price_per_kwh=float(price_per_kwh),
        query_tokens=float(query_tokens),
        pue=float(pue),
        grid_g_co2_per_kwh=None if grid_g_co2_per_kwh is None else float(grid_g_co2_per_kwh),
        facility=None if facility is None else SteadyStateFigures(**facility),
        price_currency=raw["price_currency"],
        rate=raw["rate"],
        rate_date=raw["rate_date"],
        rate_source=raw["rate_source"],
    )
