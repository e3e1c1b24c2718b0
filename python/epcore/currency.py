"""Currencies: ISO 4217 codes, dated exchange-rate tables, conversion and display.

Money is a currency code plus an amount. A :class:`Rates` table holds units
of each currency per 1 EUR on one date, as the European Central Bank
publishes them; any two currencies in it convert through the euro (USD→GBP
= GBP/USD). The bundled table is the ECB's of 2025-05-09: indicative
reference rates, for information, not for transactions. Pass your own as a
mapping or as an ECB ``eurofxref`` file (CSV or XML). The parsing,
arithmetic and formatting live in the Rust core.

>>> r = Rates.bundled()
>>> r.date, r.per_eur["USD"]
('2025-05-09', 1.1252)
>>> r.rate("USD", "GBP") == 0.8477 / 1.1252
True
>>> format_money(r.convert(2.488888888888889e-05, "USD", "BRL"), "BRL")
'R$0.000141'
>>> format_money(2.488888888888889e-05, "USD"), format_money(1234.5, "EUR", symbol=False)
('$0.0000249', '1,234.50 EUR')
>>> CURRENCIES["JPY"], CURRENCIES["KWD"]
(0, 3)
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from types import MappingProxyType
from typing import Any

from . import _core

__all__ = ["CURRENCIES", "Rates", "currency_decimals", "format_money"]

#: Active ISO 4217 codes and their minor-unit decimals (``"JPY": 0``, ``"USD": 2``, ``"KWD": 3``).
CURRENCIES: Mapping[str, int] = MappingProxyType(dict(_core.currency_table()))

_Raw = tuple[str | None, str, dict[str, float]]


def _iso(date: str | _dt.date | None) -> str | None:
    return date.isoformat() if isinstance(date, _dt.date) else date


@dataclass(frozen=True)
class Rates:
    """One dated table of exchange rates: units of each currency per 1 EUR.

    ``date`` is the reference day (``YYYY-MM-DD``; None for rates given
    without one), ``source`` who published them, ``per_eur`` a read-only
    mapping with ``EUR`` at 1. Build with :meth:`bundled`, :meth:`from_file`
    or :meth:`from_mapping`; the table is checked in Rust when it is used.

    >>> fixed = Rates.from_mapping({"USD": 1.1252, "BRL": 6.3957}, date="2025-05-09")
    >>> fixed.rate("USD", "BRL") == 6.3957 / 1.1252
    True
    >>> Rates.bundled().rate("USD", "AED")
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: currency = AED: no AED rate in the table of 2025-05-09; pass a rate: ...
    """

    date: str | None
    source: str
    per_eur: Mapping[str, float] = field(compare=False)

    def __post_init__(self) -> None:
        # Frozen means frozen: a caller's dict must not change the table behind its back.
        object.__setattr__(self, "per_eur", MappingProxyType(dict(self.per_eur)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rates):
            return NotImplemented
        return (self.date, self.source, dict(self.per_eur)) == (other.date, other.source, dict(other.per_eur))

    def __hash__(self) -> int:
        return hash((self.date, self.source, tuple(sorted(self.per_eur.items()))))

    @classmethod
    def _from_raw(cls, raw: _Raw) -> Rates:
        return cls(date=raw[0], source=raw[1], per_eur=raw[2])

    def _raw(self) -> _Raw:
        return (self.date, self.source, dict(self.per_eur))

    @classmethod
    def bundled(cls) -> Rates:
        """The bundled ECB euro reference rates of 2025-05-09 (about 30 currencies).

        >>> sorted(Rates.bundled().per_eur)[:4]
        ['AUD', 'BGN', 'BRL', 'CAD']
        """
        return cls._from_raw(_core.bundled_rates())

    @classmethod
    def from_file(cls, path: str | PathLike[str], date: str | _dt.date | None = None) -> Rates:
        """The table of an ECB ``eurofxref`` file (CSV or XML, sniffed; ``.gz``/``.zst`` too).

        With ``date``, the newest table on or before it (a weekend takes the
        Friday before); otherwise the newest. Bad content raises
        :class:`epcore.ParseError` naming the line, column and value.
        """
        return cls._from_raw(_core.read_ecb_rates(path, _iso(date)))

    @classmethod
    def all_from_file(cls, path: str | PathLike[str]) -> tuple[Rates, ...]:
        """Every dated table of an ECB file, newest first."""
        return tuple(cls._from_raw(r) for r in _core.read_ecb_history(path))

    @classmethod
    def from_text(cls, text: str, date: str | _dt.date | None = None, *, name: str = "<text>") -> Rates:
        """Like :meth:`from_file`, from ECB CSV or XML text already in memory.

        >>> Rates.from_text("Date, USD, \\n9 May 2025, 1.1252, \\n").per_eur["USD"]
        1.1252
        """
        tables = [cls._from_raw(r) for r in _core.parse_ecb_text(text, name)]
        want = _iso(date)
        for t in tables:
            if want is None or (t.date is not None and t.date <= want):
                return t
        raise _no_rates_before(want, tables)

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, float],
        *,
        date: str | _dt.date | None = None,
        base: str = "EUR",
        source: str = "user-supplied rates",
    ) -> Rates:
        """A table from ``{code: units per 1 base}``.

        With ``base`` other than EUR the mapping must include ``"EUR"``
        (euros per 1 base) so the table can be placed against the euro.

        >>> r = Rates.from_mapping({"EUR": 0.5, "GBP": 0.75}, base="USD")
        >>> r.per_eur["USD"], r.rate("USD", "GBP")
        (2.0, 0.75)
        """
        m = {str(k): float(v) for k, v in mapping.items()}
        return cls._from_raw(_core.rates_from_mapping(m, _iso(date), base, source))

    def rate(self, from_: str, to: str) -> float:
        """Units of ``to`` per unit of ``from_``: ``per_eur[to] / per_eur[from_]``.

        A code missing from the table raises :class:`epcore.ConfigError`
        saying to pass a rate; an unknown code lists close matches.
        """
        return _core.fx_rate(self._raw(), from_, to)

    def convert(self, amount: float, from_: str, to: str) -> float:
        """``amount`` of ``from_`` in ``to``.

        >>> round(Rates.bundled().convert(100, "EUR", "JPY"), 9)
        16336.0
        """
        return _core.fx_convert(self._raw(), float(amount), from_, to)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``date``, ``source`` and ``per_eur``."""
        return {"date": self.date, "source": self.source, "per_eur": dict(self.per_eur)}


def _no_rates_before(want: str | None, tables: list[Rates]) -> Exception:
    from .exceptions import ConfigError

    oldest = tables[-1].date if tables else None
    reason = f"no rates on or before this date; the table starts on {oldest}"
    return ConfigError(f"date = {want}: {reason}", code="invalid_argument", reason=reason, value=want)


def format_money(amount: float, currency: str, symbol: bool = True) -> str:
    """``amount`` of ``currency`` for display.

    The currency's minor-unit decimals for ordinary amounts; three
    significant figures below one minor unit (so a per-query cost never
    reads $0.00), scientific below 1e-9. ``symbol`` uses ``$ € £ ¥ R$ ₹ CN¥``
    for USD, EUR, GBP, JPY, BRL, INR, CNY, and the code after the amount
    otherwise.

    >>> format_money(2.488888888888889e-05, "USD", symbol=False)
    '0.0000249 USD'
    >>> format_money(1234.5, "EUR"), format_money(163.36, "JPY"), format_money(1.5, "CHF")
    ('€1,234.50', '¥163', '1.50 CHF')
    """
    return _core.format_money(float(amount), currency, symbol)


def currency_decimals(code: str) -> int:
    """Minor-unit decimals of an active ISO 4217 code; an unknown code lists close matches.

    >>> currency_decimals("JPY")
    0
    >>> currency_decimals("USX")
    Traceback (most recent call last):
    epcore.exceptions.ConfigError: unknown currency 'USX'; hint: did you mean UGX, USD, USN, UAH, UYI?
    """
    return _core.currency_decimals(code)
