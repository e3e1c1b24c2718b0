"""How figures read, in one place: the CLI's tables and the web console show the same strings.

Six significant figures in positional notation for plain numbers, the
currency's own decimals for money (significant figures below one minor unit,
never ``$0.00``), ``—`` for unknown.

>>> import epcore
>>> r = epcore.steady_state(power_w=5600, tokens_per_s=2500)
>>> [figure(name, getattr(r, name), r.currency) for name, _, _ in CALC_ROWS[:4]]
['2.24', '0.000622222', '0.622222', '$0.0498']
"""

from __future__ import annotations

from decimal import Decimal

from .carbon import GridIntensity
from .currency import format_money
from .economics import SteadyState
from .scenarios import Interval

__all__ = ["CALC_ROWS", "DASH", "FLEET_ROWS", "RATE_CAVEAT", "SENS_COLUMNS", "figure", "fmt_number", "grid_line", "pct",
           "pue_note", "rate_line", "span"]

DASH = "—"

#: Said wherever a converted figure is shown: the rates are the ECB's reference rates, not a quote.
RATE_CAVEAT = "indicative rates, for information only"

#: (figure, label, unit) of a steady state, in the order tables show them; ``{currency}`` is filled in.
CALC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("joules_per_token", "energy per token", "J"),
    ("wh_per_token", "energy per token", "Wh"),
    ("kwh_per_million_tokens", "energy per million tokens", "kWh"),
    ("cost_per_million_tokens", "cost per million tokens", "{currency}"),
    ("wh_per_query", "energy per query", "Wh"),
    ("cost_per_query", "cost per query", "{currency}"),
    ("queries_per_kwh", "queries per kWh", ""),
    ("tokens_per_kwh", "tokens per kWh", ""),
    ("g_co2_per_query", "carbon per query", "gCO2"),
    ("g_co2_per_million_tokens", "carbon per million tokens", "gCO2"),
)

_MONEY_FIGURES = frozenset(name for name, _, unit in CALC_ROWS if unit == "{currency}")

#: (figure, label, unit) of a fleet's IT and facility levels.
FLEET_ROWS: tuple[tuple[str, str, str], ...] = (
    ("power_mw", "power", "MW"),
    ("energy_mwh", "energy", "MWh"),
    ("cost", "electricity cost", "{currency}"),
    ("t_co2", "emissions", "tCO2"),
    ("joules_per_token", "energy per token", "J"),
    ("cost_per_million_tokens", "cost per million tokens", "{currency}"),
    ("g_co2_per_million_tokens", "carbon per million tokens", "gCO2"),
)


#: (figure, short label) of the sensitivity tables, in order.
SENS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("joules_per_token", "J/token"),
    ("cost_per_million_tokens", "cost/Mtok"),
    ("wh_per_query", "Wh/query"),
    ("cost_per_query", "cost/query"),
    ("g_co2_per_query", "gCO2/query"),
)


def fmt_number(v: float | int | None) -> str:
    """Six significant figures in positional notation, for tables.

    >>> fmt_number(2.24), fmt_number(2.488888888888889e-05), fmt_number(3214.2857142857)
    ('2.24', '0.0000248889', '3,214.29')
    >>> fmt_number(None), fmt_number(0.0), fmt_number(1607142.857), fmt_number(1e-12)
    ('—', '0', '1,607,143', '1e-12')
    """
    if v is None:
        return DASH
    if isinstance(v, int):
        return f"{v:,}"
    if v == 0:
        return "0"
    a = abs(v)
    if not 1e-9 <= a < 1e15:
        return f"{v:.6g}"
    decimals = max(0, 5 - _floor_log10(a))
    s = f"{v:,.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _floor_log10(a: float) -> int:
    # Decimal of the shortest repr is exact where math.log10 rounds (log10(1000) may be 2.9999...).
    return Decimal(repr(a)).adjusted()


def figure(name: str, v: float | None, currency: str) -> str:
    """One steady-state figure: money for the cost figures, :func:`fmt_number` for the rest.

    >>> figure("cost_per_query", 2.488888888888889e-05, "USD"), figure("queries_per_kwh", 3214.285714285714, "USD")
    ('$0.0000249', '3,214.29')
    >>> figure("cost_per_query", None, "USD")
    '—'
    """
    if name in _MONEY_FIGURES and v is not None:
        return format_money(v, currency)
    return fmt_number(v)


def pct(v: float | None) -> str:
    """A relative change as ``+12.5%`` (``—`` if unknown).

    >>> pct(-0.5), pct(0.125), pct(None)
    ('-50.0%', '+12.5%', '—')
    """
    return DASH if v is None else f"{v:+.1%}"


def span(v: Interval | float | None, currency: str | None = None) -> str:
    """A number or a ``min – max`` range, as money when ``currency`` is given.

    >>> from epcore import Interval
    >>> span(Interval(2.8, 3.36)), span(2.5, "EUR"), span(Interval(1.0, 1.0)), span(None)
    ('2.8 – 3.36', '€2.50', '1', '—')
    """
    def one(x: float) -> str:
        return format_money(x, currency) if currency else fmt_number(x)

    if v is None:
        return DASH
    if isinstance(v, Interval):
        return one(v.min) if v.min == v.max else f"{one(v.min)} – {one(v.max)}"
    return one(v)


def pue_note(pue: float) -> str:
    """What the figures include: IT energy only at PUE 1, facility energy above it.

    >>> pue_note(1.3)
    'facility = IT × PUE 1.3'
    """
    if pue == 1.0:
        return ("IT energy only (PUE 1.0); the industry average is about 1.56 (Uptime Institute 2024), "
                "hyperscale about 1.1")
    return f"facility = IT × PUE {fmt_number(pue)}"


def grid_line(region: GridIntensity) -> str:
    """``grid DEU (Germany): 380.95 gCO2e/kWh, 2023, <source> (<licence>)``.

    >>> from epcore import grid_intensity
    >>> grid_line(grid_intensity("DE"))[:42]
    'grid DEU (Germany): 380.95 gCO2e/kWh, 2023'
    """
    return (f"grid {region.code} ({region.name}): {fmt_number(region.g_co2_per_kwh)} gCO2e/kWh, "
            f"{region.year}, {region.source} ({region.licence})")


def rate_line(r: SteadyState) -> str | None:
    """``1 USD = 5.65651 BRL (rate of 2025-05-09, European Central Bank …; indicative rates …)``, or None
    when nothing was converted.

    >>> import epcore
    >>> rate_line(epcore.steady_state(power_w=5600, tokens_per_s=2500, price_currency="USD", currency="BRL"))[:42]
    '1 USD = 5.65651 BRL (rate of 2025-05-09, E'
    """
    if r.price_currency is None or r.price_currency == r.currency:
        return None
    when = f"rate of {r.rate_date}" if r.rate_date else "rate without a date"
    return (f"1 {r.price_currency} = {fmt_number(r.rate)} {r.currency} ({when}, {r.rate_source}; "
            f"{RATE_CAVEAT})")
