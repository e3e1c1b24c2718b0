"""The currency oracle: plain, obviously correct Python for what the Rust core does.

- :func:`read_ecb_csv_reference` reads an ECB ``eurofxref`` CSV with the csv
  module: one ``{code: units per EUR}`` dict per date, ``N/A`` cells left out.
- :func:`rate_reference` is the cross rate through the euro, exactly, in
  fractions: units of ``to`` per unit of ``from_`` = per_eur[to] / per_eur[from_].
- :func:`format_money_reference` formats with :class:`decimal.Decimal` from the
  exact binary value, rounding half to even, as Rust's formatter does.

Nothing here is fast or clever; the tests compare the Rust path with it.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "BRL": "R$", "INR": "₹", "CNY": "CN¥"}


def read_ecb_csv_reference(path: Path) -> dict[str, dict[str, float]]:
    """``{date: {code: units per EUR}}`` of an ECB history CSV (ISO dates), EUR included at 1."""
    out: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows)]
        for row in rows:
            cells = [c.strip() for c in row]
            table = {"EUR": 1.0}
            for code, cell in zip(header[1:], cells[1:]):
                if code and cell and cell != "N/A":
                    table[code] = float(cell)
            out[cells[0]] = table
    return out


def rate_reference(per_eur: dict[str, float], from_: str, to: str) -> Fraction:
    """The exact cross rate of the two (binary) table entries."""
    return Fraction(per_eur[to]) / Fraction(per_eur[from_])


def format_money_reference(amount: float, decimals: int, code: str, symbol: bool = True) -> str:
    """Minor-unit decimals from one unit up; below it 3 significant figures (at least the
    minor-unit decimals), trailing zeros trimmed down to them; scientific below 1e-9."""
    a = Decimal(abs(amount))  # the exact binary value
    if a == 0 or a >= 1:
        q = a.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
        digits = f"{q:,.{decimals}f}"
    else:
        r = a.quantize(Decimal(1).scaleb(a.adjusted() - 2), rounding=ROUND_HALF_EVEN)
        exp = r.adjusted()  # after rounding: 9.996e-6 becomes 1.00e-5
        if abs(amount) < 1e-9:
            r = a.quantize(Decimal(1).scaleb(exp - 2), rounding=ROUND_HALF_EVEN)
            digits = f"{r.scaleb(-exp):.2f}e{exp}"
        else:
            places = max(2 - exp, decimals)
            q = a.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
            digits = f"{q:.{places}f}"
            keep = digits.index(".") + 1 + decimals
            while len(digits) > keep and digits.endswith("0"):
                digits = digits[:-1]
            digits = digits.rstrip(".")
    sign = "-" if amount < 0 else ""
    sym = SYMBOLS.get(code) if symbol else None
    return f"{sign}{sym}{digits}" if sym else f"{sign}{digits} {code}"
