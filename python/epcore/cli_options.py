"""Typer options shared by the commands that read a power file (``carbon``, ``attribute``, ``plot``, ``report``).

Each constant is the ``typer.Option`` half of an ``Annotated`` parameter: the
command keeps the type and the default beside the name, the flags and help text
live here once. Typer copies the option for every parameter it builds, so one
instance can serve many commands. The module imports nothing from
:mod:`epcore.cli`, so that module can use these too.

>>> POWER_VALUE.help
'Power file: column or metric to read when there are several.'
>>> POWER_FORMAT.default, POWER_FORMAT.param_decls
('--format', ('-f',))
"""

from __future__ import annotations

import typer

__all__ = [
    "POWER_CHANNEL",
    "POWER_COLUMNS",
    "POWER_FORMAT",
    "POWER_MAX_GAP",
    "POWER_VALUE",
    "PREFER",
    "RULE",
]

#: ``format: Annotated[FormatName, POWER_FORMAT] = FormatName.auto``
POWER_FORMAT = typer.Option("--format", "-f", help="Power file format (auto: sniffed).")
#: ``value: Annotated[str | None, POWER_VALUE] = None``
POWER_VALUE = typer.Option(help="Power file: column or metric to read when there are several.")
#: ``channel: Annotated[str | None, POWER_CHANNEL] = None``
POWER_CHANNEL = typer.Option(help="Power file: column or label naming the device.")
#: ``prefer: Annotated[PreferName | None, PREFER] = None``
PREFER = typer.Option(help="power or energy, when a source has both.")
#: ``columns: Annotated[str | None, POWER_COLUMNS] = None``
POWER_COLUMNS = typer.Option(help="Column list of an nvidia-smi log written with noheader.")
#: ``rule: Annotated[RuleName, RULE] = RuleName.trapezoid``
RULE = typer.Option(help="trapezoid for instantaneous samples, hold for held ones.")
#: ``max_gap_s: Annotated[float | None, POWER_MAX_GAP] = None``
POWER_MAX_GAP = typer.Option(help="Power intervals longer than this are gaps (default: automatic).")
