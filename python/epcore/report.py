"""One self-contained HTML report of a power trace (and its request log), needs ``epcore[plot]``.

:func:`report` writes a single ``.html`` file that opens anywhere, offline:
CSS inline, figures inline as SVG (text kept as text), no scripts, no
external links, fonts or images, and a Content-Security-Policy that forbids
loading anything, so a report mailed around cannot call home. It holds the
headline figures (energy, J/token, prefill/decode, idle), the plots, the
per-request distribution, the quality report and warnings, the input file
names and the epcore version. Without a request log: energy, the power plot
and the quality report.

Every text from the inputs (file and channel names, warnings) is escaped.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from . import __version__
from .attribution import Attribution, attribute
from .exceptions import ConfigError
from .plot_data import energy_histogram, joules_per_token_plot, phase_split, power_plot
from .request_logs import Requests, read_requests
from .svg import esc, num
from .trace import PowerTrace, read_power

__all__ = ["report"]

#: Extensions :func:`report` writes.
REPORT_KINDS = (".html", ".htm")

# Nothing may be fetched: styles are inline (matplotlib's SVG text carries style attributes), images data: only.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
:root { color-scheme: light; --fg: #1d1d1f; --muted: #5f6368; --line: #d9d9de; --accent: #0072B2; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, figcaption, .note { color: var(--muted); font-size: 0.9rem; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
.table-wrap { overflow-x: auto; }
.headline { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .value { font-size: 1.35rem; font-weight: 600; }
.card .label { color: var(--muted); font-size: 0.85rem; }
figure { margin: 16px 0; }
figure svg { width: 100%; height: auto; display: block; }
.warnings li { color: #8a4b00; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
@media print { h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def _source_name(given: object, fallback: str | None) -> str:
    if isinstance(given, (str, os.PathLike)):
        return os.fspath(given)
    return fallback or "<in memory>"


def _clean_svg(raw: bytes, prefix: str) -> str:
    """matplotlib's SVG made fit to inline: no prolog, DOCTYPE (a w3.org URL), comments or metadata;
    ids prefixed so several figures share a page; scaled by its container."""
    text = raw.decode("utf-8")
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>", "", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    text = re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"\s+height="[^"]*"', r'\1 width="100%"', text, count=1)
    return text.strip()


def _figure(fig: Any, n: int, caption: str) -> str:
    from .plots import svg_bytes

    body = _clean_svg(svg_bytes(fig), f"f{n}-")
    body = body.replace("<svg ", f'<svg role="img" aria-label="{esc(caption)}" ', 1)
    return f"<figure>{body}<figcaption>{esc(caption)}</figcaption></figure>"


def _cell(v: object) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return num(v)
    if isinstance(v, Mapping):
        return ", ".join(f"{k} {_cell(x)}" for k, x in v.items()) or "—"
    if isinstance(v, (list, tuple)):
        return "; ".join(_cell(x) for x in v) or "—"
    return str(v)


def _kv_table(d: Mapping[str, object], skip: Iterable[str] = ()) -> str:
    skipped = set(skip)
    rows = "".join(f"<tr><th scope=\"row\">{esc(k.replace('_', ' '))}</th><td>{esc(_cell(v))}</td></tr>"
                   for k, v in d.items() if k not in skipped)
    return f'<div class="table-wrap"><table>{rows}</table></div>'


def _cards(items: list[tuple[str, str, str]]) -> str:
    cards = "".join(f'<div class="card"><div class="value">{esc(v)} <small>{esc(u)}</small></div>'
                    f'<div class="label">{esc(label)}</div></div>' for label, v, u in items)
    return f'<div class="headline">{cards}</div>'


def _energy_items(trace: PowerTrace) -> list[tuple[str, str, str]]:
    r = trace.result
    items = [("total energy", num(r.energy_j), "J"), ("total energy", num(r.energy_wh), "Wh"),
             ("duration", num(r.duration_s), "s")]
    if r.mean_power_w is not None:
        items.append(("mean power (sum of channels)", num(r.mean_power_w), "W"))
    return items


def _share(part: float, total: float) -> str:
    return f" ({num(100 * part / total)}% of the total)" if total > 0 and math.isfinite(part) else ""


def _attribution_items(a: Attribution) -> list[tuple[str, str, str]]:
    t = a.total_energy_j
    items = [
        ("energy per output token (all energy while serving)", num(a.joules_per_output_token), "J/token"),
        ("prefill energy per input token", num(a.joules_per_input_token), "J/token"),
        ("decode energy per token after the first", num(a.decode_joules_per_token), "J/token"),
        ("energy per token, input + output", num(a.joules_per_token), "J/token"),
        ("above-idle energy per output token", num(a.dynamic_joules_per_output_token), "J/token"),
        ("prefill energy" + _share(a.prefill_energy_j, t), num(a.prefill_energy_j), "J"),
        ("decode energy" + _share(a.decode_energy_j, t), num(a.decode_energy_j), "J"),
        ("unattributed (no request active)" + _share(a.unattributed_energy_j, t), num(a.unattributed_energy_j), "J"),
        ("idle baseline (idle power × time)", num(a.idle_energy_j), "J"),
        ("idle power (sum of channels)", num(sum(a.idle_w.values())), "W"),
        ("requests attributed", f"{a.n_attributed:,} of {a.n_requests:,}", ""),
        ("tokens in / out", f"{a.input_tokens:,} / {a.output_tokens:,}", ""),
    ]
    if a.unsplit_energy_j:
        items.insert(7, ("requests without a first token" + _share(a.unsplit_energy_j, t), num(a.unsplit_energy_j),
                         "J"))
    return items


def _channels_table(trace: PowerTrace, a: Attribution | None) -> str:
    head = ("<tr><th>channel</th><th class=num>energy (J)</th><th class=num>mean power (W)</th>"
            "<th class=num>samples</th><th class=num>coverage</th>" + ("<th class=num>idle (W)</th><th>idle from</th>"
                                                                        if a else "") + "</tr>")
    rows = []
    for c in trace.result.channels:
        cov = c.quality.coverage
        idle = (f"<td class=num>{esc(num(a.idle_w.get(c.name)))}</td><td>{esc(a.idle_source.get(c.name, ''))}</td>"
                if a else "")
        rows.append(f"<tr><td>{esc(c.name)}</td><td class=num>{esc(num(c.energy_j))}</td>"
                    f"<td class=num>{esc(num(c.mean_power_w))}</td><td class=num>{c.quality.n_samples:,}</td>"
                    f"<td class=num>{esc('—' if cov is None else f'{100 * cov:.1f}%')}</td>{idle}</tr>")
    return f'<div class="table-wrap"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


_DIST_UNITS = {"energy_j": "J", "dynamic_energy_j": "J", "prefill_energy_j": "J", "decode_energy_j": "J"}


def _distribution_table(a: Attribution) -> str:
    cols = ("n", "mean", "min", "p50", "p90", "p99", "max")
    head = "<tr><th>per request</th>" + "".join(f"<th class=num>{c}</th>" for c in cols) + "</tr>"
    rows = []
    for name, d in a.distribution.items():
        unit = _DIST_UNITS.get(name, "J/token")
        cells = "".join(f"<td class=num>{esc(_cell(d.get(c)))}</td>" for c in cols)
        rows.append(f"<tr><th scope=\"row\">{esc(name)} ({unit})</th>{cells}</tr>")
    return f'<div class="table-wrap"><table><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table></div>'


def _warnings(trace: PowerTrace, reqs: Requests | None, a: Attribution | None) -> list[str]:
    out = list(trace.quality.warnings)
    out += [str(w) for w in trace.info.get("warnings", []) if str(w) not in out]
    if trace.naive_time:
        out.append("the trace's timestamps have no time zone and were read as UTC")
    if reqs is not None:
        out += [w for w in reqs.quality.warnings if w not in out]
    if a is not None:
        out += [w for w in a.quality.get("warnings", []) if w not in out]
        if a.regression is None and a.regression_reason:
            out.append(f"no regression estimate: {a.regression_reason}")
    return out


def _regression(a: Attribution) -> str:
    r = a.regression
    if r is None:
        return ""
    return ("<h3>Regression estimate (independent check)</h3>"
            '<p class="note">Power in time bins regressed on prefill and decode token rates: marginal energies, '
            "idle excluded.</p>" + _kv_table({
                "J per input token (marginal)": r.joules_per_input_token,
                "J per output token (marginal)": r.joules_per_output_token,
                "static power while serving (W)": r.intercept_w,
                "r squared": r.r_squared,
                "bins": r.n_bins,
                "bin width (s)": r.bin_s,
            }))


def report(
    power: PowerTrace | str | os.PathLike[str],
    requests: Requests | str | os.PathLike[str] | None = None,
    *,
    out: str | os.PathLike[str],
    title: str | None = None,
    **attribute_kwargs: Any,
) -> Path:
    """Write one self-contained HTML report of ``power`` (and ``requests``) to ``out``; return its path.

    ``power`` and ``requests`` are what :func:`epcore.attribute` takes (read
    objects or paths); ``attribute_kwargs`` go to it (``weight``,
    ``idle_w``, ``offset_ns``...; ``offset_ns`` also places the request
    windows on the plots). ``out`` must end in ``.html`` or ``.htm``.

    >>> import epcore, pathlib, tempfile
    >>> s = 10**9
    >>> tr = epcore.PowerTrace.from_samples({"gpu0": ([0, 10 * s], [200.0, 200.0])})
    >>> path = report(tr, out=pathlib.Path(tempfile.mkdtemp()) / "r.html", title="demo")
    >>> text = path.read_text(encoding="utf-8")
    >>> "<svg" in text, "2,000" in text, "<script" in text
    (True, True, False)
    """
    out_path = Path(out)
    if out_path.suffix.lower() not in REPORT_KINDS:
        raise ConfigError(f"{str(out_path)!r}: a report is HTML; name it .html", code="invalid_argument",
                          value=out_path.suffix, hint="use an .html file name")
    from . import plots  # fails here, in one line, without matplotlib

    trace = power if isinstance(power, PowerTrace) else read_power(power)
    reqs = None if requests is None else requests if isinstance(requests, Requests) else read_requests(requests)
    offset_ns = attribute_kwargs.get("offset_ns", 0)
    a = None if reqs is None else attribute(trace, reqs, **attribute_kwargs)

    power_name = _source_name(power, trace.source)
    doc_title = title or f"Energy report: {os.path.basename(power_name)}"
    inputs: dict[str, object] = {
        "power": f"{power_name} ({trace.format}, {len(trace.channels)} channel(s), {trace.result.samples:,} samples)",
    }
    if reqs is not None:
        inputs["requests"] = (f"{_source_name(requests, reqs.quality.source)} ({reqs.quality.format}, "
                              f"{len(reqs):,} requests)")
    if a is not None:
        inputs["attribution"] = (f"weight {a.weight}, prefill weight {num(a.prefill_weight)}, "
                                 f"span {a.span_kind}, offset {num(a.offset_ns / 1e9)} s")

    figures = [_figure(plots.plot_power(power_plot(trace, reqs, offset_ns=offset_ns)), 1,
                       "Power of each channel over time" + (", request windows shaded, requests in flight dashed"
                                                             if reqs is not None else ""))]
    if reqs is not None and a is not None:
        figures.append(_figure(plots.plot_joules_per_token(joules_per_token_plot(trace, reqs, offset_ns=offset_ns)),
                               2, "Energy per output token in time bins (tokens spread over each decode window)"))
        figures.append(_figure(plots.plot_phases(phase_split(a)), 3,
                               "Where the energy went: the parts add up to the total energy"))
        figures.append(_figure(plots.plot_energy_histogram(energy_histogram(a)), 4,
                               "Energy per request (idle power included)"))

    warnings = _warnings(trace, reqs, a)
    warn_html = ('<ul class="warnings">' + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>"
                 if warnings else '<p class="note">No warnings.</p>')
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="epcore {esc(__version__)}">',
        f"<title>{esc(doc_title)}</title><style>{_CSS}</style></head>",
        "<body><main>",
        f"<header><h1>{esc(doc_title)}</h1><p class=\"meta\">epcore {esc(__version__)} · generated {generated}</p>",
        "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in inputs.items()) + "</dl></header>",
        '<section id="headline"><h2>Headline figures</h2>',
        _cards(_energy_items(trace) + ([] if a is None else _attribution_items(a))),
        "</section>",
        '<section id="figures"><h2>Figures</h2>' + "".join(figures) + "</section>",
        '<section id="channels"><h2>Channels</h2>' + _channels_table(trace, a) + "</section>",
    ]
    if a is not None:
        parts.append('<section id="distribution"><h2>Per-request distribution</h2>'
                     '<p class="note">Over the requests that got an energy; numpy linear percentiles.</p>'
                     + _distribution_table(a) + _regression(a) + "</section>")
    parts += [
        '<section id="quality"><h2>Data quality</h2><h3>Warnings</h3>' + warn_html,
        "<h3>Power trace</h3>" + _kv_table(trace.quality.to_dict(), skip=("warnings",)),
    ]
    if reqs is not None:
        parts.append("<h3>Request log</h3>" + _kv_table(reqs.quality.to_dict(), skip=("warnings", "source")))
    parts += ["</section>",
              f'<footer><p class="note">Made with epcore {esc(__version__)}. Figures measured from the files named '
              "above; energy is IT energy (multiply by your PUE for the facility).</p></footer>",
              "</main></body></html>", ""]
    out_path.write_text("\n".join(parts), encoding="utf-8")
    return out_path
