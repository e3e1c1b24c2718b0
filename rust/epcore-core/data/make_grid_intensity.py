"""Regenerate ``grid_intensity.csv`` from CodeCarbon's shipped reference data.

Run once when the source data changes (the CSV is committed and embedded in the
crate with ``include_str!``; nothing reads the sources at build time)::

    python rust/epcore-core/data/make_grid_intensity.py ../shared/data/real/codecarbon

The argument is a copy of CodeCarbon's ``codecarbon/data`` tree (``cloud/`` and
``private_infra/``). Rows of ``grid_intensity.csv`` (``source`` is an id of ``grid_sources.csv``), in this order:

- ``country``: every ISO3 entry of ``private_infra/global_energy_mix.json``
  (``carbon_intensity``, ``year``, ``country_name``; OWID energy-data, itself from
  Ember and the Energy Institute: CC BY 4.0, attribution required), with its
  ISO 3166-1 alpha-2 alias from ``iso3166_alpha.csv`` beside this script;
- ``world``: CodeCarbon's ``world_average`` (IEA 2019) from
  ``carbon_intensity_per_source.json``;
- ``cloud``: ``cloud/impact.csv`` (UTF-8 BOM; ``impact`` in gCO2e/kWh) as
  ``<provider>:<region>`` (only GCP rows exist at the pinned commit);
- ``us_state``: ``private_infra/2016/usa_emissions.json`` (lbs CO2/MWh) as
  ``US-<postal code>``, converted with 1 lb/MWh = 0.453592 g/kWh;
- ``bidding_zone``: the Nordic zones of ``private_infra/nordic_emissions.json``
  as Electricity Maps zone ids (``SE-SE1``, alias ``SE1``). Its ``FI`` row is left
  out: ``FI`` is Finland's ISO alpha-2 code and names the country row.

Canadian provinces (a generation mix, not an intensity) and the 2000-2020 EU
table (older than the country rows) are not used.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
LB_PER_MWH_IN_G_PER_KWH = 0.453592

# Source ids of grid_intensity.csv, spelled out (with licence and address) in grid_sources.csv.
SOURCES = [
    ("owid", "OWID energy-data (Ember Yearly Electricity Data, Energy Institute Statistical Review) via CodeCarbon "
             "private_infra/global_energy_mix.json", "CC-BY-4.0",
     "https://github.com/owid/energy-data"),
    ("iea", "IEA Global Energy & CO2 Status Report 2019 (world average) via CodeCarbon "
            "private_infra/carbon_intensity_per_source.json", "MIT",
     "https://www.iea.org/reports/global-energy-co2-status-report-2019/emissions"),
    ("gcp", "Google Cloud region carbon data via CodeCarbon cloud/impact.csv", "MIT",
     "https://cloud.google.com/sustainability/region-carbon#data"),
    ("codecarbon-us", "CodeCarbon private_infra/2016/usa_emissions.json (US state factors, lbs/MWh x 0.453592)", "MIT",
     "https://github.com/mlco2/codecarbon"),
    ("codecarbon-nordic", "CodeCarbon private_infra/nordic_emissions.json (ENTSO-E historical averages)", "MIT",
     "https://github.com/mlco2/codecarbon"),
]
OWID, IEA, GCP, US, NORDIC = ("owid",), ("iea",), ("gcp",), ("codecarbon-us",), ("codecarbon-nordic",)

# Year of the GCP figures is not in impact.csv; CodeCarbon took them from Google's 2021-2022 page.
GCP_YEAR = 2022


def iso2_by_iso3() -> dict[str, str]:
    with open(HERE / "iso3166_alpha.csv", encoding="utf-8") as f:
        return {r["alpha3"]: r["alpha2"] for r in csv.DictReader(f)}


def number(x: float) -> str:
    """Shortest text that reads back as the same float."""
    return repr(float(x))


def rows(src: Path) -> list[list[str]]:
    out: list[list[str]] = []
    iso2 = iso2_by_iso3()
    mix = json.loads((src / "private_infra" / "global_energy_mix.json").read_text(encoding="utf-8"))
    for iso3 in sorted(mix):
        e = mix[iso3]
        out.append([iso3, iso2.get(iso3, ""), "country", e["country_name"], number(e["carbon_intensity"]),
                    str(e["year"]), *OWID])
    per_source = json.loads((src / "private_infra" / "carbon_intensity_per_source.json").read_text(encoding="utf-8"))
    out.append(["WORLD", "", "world", "World average", number(per_source["world_average"]), "2019", *IEA])
    text = (src / "cloud" / "impact.csv").read_text(encoding="utf-8-sig")
    for r in sorted(csv.DictReader(io.StringIO(text)), key=lambda r: (r["provider"], r["region"])):
        place = ", ".join(p for p in (r["city"], r["country_name"]) if p)
        out.append([f"{r['provider']}:{r['region']}", "", "cloud", place, number(float(r["impact"])),
                    str(GCP_YEAR), *GCP])
    us = json.loads((src / "private_infra" / "2016" / "usa_emissions.json").read_text(encoding="utf-8"))
    assert us.pop("_unit")["emissions"] == "lbs/MWh"
    for name in sorted(us, key=lambda n: us[n]["regionCode"]):
        e = us[name]
        g = round(e["emissions"] * LB_PER_MWH_IN_G_PER_KWH, 3)
        out.append([f"US-{e['regionCode']}", "", "us_state", name.title(), number(g), "2016", *US])
    nordic = json.loads((src / "private_infra" / "nordic_emissions.json").read_text(encoding="utf-8"))["data"]
    for zone in sorted(nordic):
        if zone == "FI":
            continue
        e = nordic[zone]
        assert e["unit"] == "gCO2eq/kWh", e
        out.append([f"{zone[:2]}-{zone}", zone, "bidding_zone", e["description"], number(e["emission_factor"]),
                    str(e["year"]), *NORDIC])
    return out


def main() -> None:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real/codecarbon")
    with open(HERE / "grid_intensity.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "alias", "kind", "name", "g_co2_per_kwh", "year", "source"])
        w.writerows(rows(src))
    with open(HERE / "grid_sources.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "description", "licence", "url"])
        w.writerows(SOURCES)


if __name__ == "__main__":
    main()
