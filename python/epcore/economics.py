"""Steady-state economics: what a token costs in joules, money and carbon.

The arithmetic lives in the Rust core (``epcore._core.steady_state``); this
module names the figures and keeps them frozen. Money is a currency code plus
an amount: every ``cost_*`` figure is in ``SteadyState.currency``.

>>> r = steady_state(power_w=5600, tokens_per_s=2500, price_per_kwh=0.08, currency="USD")
>>> r.joules_per_token
2.24
>>> round(r.cost_per_million_tokens, 6), r.currency
(0.049778, 'USD')
>>> round(r.wh_per_query, 5), round(r.queries_per_kwh, 2)
(0.31111, 3214.29)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from . import _core

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
    """

    currency: str
    power_w: float
    tokens_per_s: float
    price_per_kwh: float
    query_tokens: float
    pue: float
    grid_g_co2_per_kwh: float | None
    facility: SteadyStateFigures | None

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
) -> SteadyState:
    """Energy, cost and carbon of serving at constant ``power_w`` and ``tokens_per_s``.

    ``price_per_kwh`` is in ``currency`` (an upper-case ISO 4217 code);
    ``pue`` > 1 adds facility-level figures; ``grid_g_co2_per_kwh`` adds carbon.
    Zero, negative or non-finite power or throughput, ``pue`` < 1, a bad
    currency code, or a negative price (unless ``allow_negative_price``) raise
    :class:`epcore.ConfigError` (also a ``ValueError``); no figure is ever inf or NaN.

    >>> r = steady_state(power_w=5600, tokens_per_s=2500, pue=1.2, grid_g_co2_per_kwh=400)
    >>> r.facility.joules_per_token, round(r.g_co2_per_query, 6)
    (2.688, 0.124444)
    >>> steady_state(power_w=5600, tokens_per_s=0)
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: tokens_per_s = 0: must be > 0
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
    )
