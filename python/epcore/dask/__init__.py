"""Fleet scale on Dask: energy and attribution over many files, equal to one machine's results.

Each file (or Parquet dataset fragment) is read in its own task, which
returns plain picklable data: per channel, the core's mergeable
:class:`epcore.Partial`, its first and last samples, and its bucket
energies. One reduce task orders each channel's pieces by time and stitches
them with ``Partial.merge``, so totals are bit-identical to integrating the
concatenated rows on one machine, and bucket energies agree to 1e-12.
Tasks default to ``threads=1`` (the workers are the parallelism); a
``distributed`` cluster starts its workers by spawning fresh processes, so no
worker inherits a forked Rust thread pool.

>>> import epcore.dask as ed
>>> sorted(ed.__all__)
['FleetAttribution', 'FleetAttributionResult', 'FleetEnergy', 'FleetEnergyResult', 'attribute', 'energy']
"""

from __future__ import annotations

from ._attribute import FleetAttribution, FleetAttributionResult, attribute
from ._energy import FleetEnergy, FleetEnergyResult, energy

__all__ = ["energy", "FleetEnergy", "FleetEnergyResult", "attribute", "FleetAttribution", "FleetAttributionResult"]
