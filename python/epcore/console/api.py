"""The console's JSON handlers: each checks its body, calls the Python API (the Rust core) and
answers figures *and* their display strings, so the page never computes or formats a number.

Bodies are JSON objects of at most 64 KiB; an unknown field, a wrong type, a
missing field or a value the core refuses is a typed 4xx
``{"error": {"code", "message", "hint", "field"}}``. The steady-state
handlers are microseconds of Rust plus an SVG string, so they run on the event
loop; trace analyses go to :mod:`epcore.console.jobs`.

>>> body = Fields({"power_w": 5600, "tokens_per_s": 2500}, CALC_FIELDS)
>>> body.number("power_w"), body.number("pue", 1.0), body.text("currency", "USD")
(5600.0, 1.0, 'USD')
>>> Fields({"power_w": True}, CALC_FIELDS).number("power_w")
Traceback (most recent call last):
epcore.console.responses.ApiError: power_w must be a number
>>> Fields({"colour": 1}, CALC_FIELDS)
Traceback (most recent call last):
epcore.console.responses.ApiError: unknown field 'colour'
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from decimal import Decimal, InvalidOperation
from typing import Any

import anyio
from starlette.requests import ClientDisconnect, Request

from .. import __version__
from ..carbon import GridIntensity, grid_intensity, grid_regions
from ..currency import CURRENCIES, Rates
from ..display import RATE_CAVEAT, figure, grid_line, pue_note, rate_line
from ..economics import SteadyState, steady_state
from ..exceptions import EpcoreError
from ..request_logs import REQUEST_FORMATS
from ..scenarios import Sensitivity, api_floor, crossover, fleet, fleet_range, sensitivity
from ..trace import FORMATS
from . import rows
from .analysis import AnalysisSpec, Limits, run_analysis
from .jobs import QueueFull
from .responses import ApiError, JSONResponse, api_error_from
from .state import ConsoleState
from .uploads import StorageFull, TooManyUploads, UploadTooLarge

__all__ = ["CALC_FIELDS", "Fields", "ROUTES"]

MAX_JSON_BYTES = 64 << 10
_REQUIRED: Any = object()


# --- bodies --------------------------------------------------------------------------------


class Fields:
    """A JSON object body, checked field by field; unknown fields are refused up front."""

    def __init__(self, body: object, allowed: frozenset[str]) -> None:
        if not isinstance(body, dict):
            raise ApiError(400, "bad_json", "the body must be a JSON object")
        for k in body:
            if k not in allowed:
                raise ApiError(422, "unknown_field", f"unknown field {k!r}",
                               hint=f"fields: {', '.join(sorted(allowed))}", field=str(k))
        self.body: dict[str, Any] = body
        self.allowed = allowed

    def _get(self, name: str, default: Any) -> Any:
        v = self.body.get(name)
        if v is None:
            if default is _REQUIRED:
                raise ApiError(422, "missing_field", f"{name} is required", field=name)
            return default
        return v

    def number(self, name: str, default: Any = _REQUIRED) -> Any:
        """A finite JSON number as float (None/absent → ``default``; booleans are not numbers)."""
        v = self._get(name, default)
        if v is default:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ApiError(422, "invalid_type", f"{name} must be a number", field=name)
        if not math.isfinite(v):
            raise ApiError(422, "invalid_value", f"{name} must be finite", field=name)
        return float(v)

    def number_or_range(self, name: str, default: Any = _REQUIRED) -> Any:
        """A number, or ``[min, max]`` (fleet ranges)."""
        v = self._get(name, default)
        if v is default:
            return v
        if isinstance(v, list):
            if len(v) != 2:
                raise ApiError(422, "invalid_value", f"{name} range must be [min, max]", field=name)
            sub = Fields({"min": v[0], "max": v[1]}, frozenset({"min", "max"}))
            try:
                return (sub.number("min"), sub.number("max"))
            except ApiError as e:
                raise ApiError(422, e.code, f"{name}: {e.message}", field=name) from None
        return self.number(name, default)

    def text(self, name: str, default: Any = _REQUIRED, choices: tuple[str, ...] | None = None) -> Any:
        """A string (at most 200 characters), optionally one of ``choices``."""
        v = self._get(name, default)
        if v is default:
            return v
        if not isinstance(v, str) or len(v) > 200:
            raise ApiError(422, "invalid_type", f"{name} must be a string", field=name)
        if choices is not None and v not in choices:
            raise ApiError(422, "invalid_value", f"{name} = {v!r}: must be one of {', '.join(choices)}",
                           field=name)
        return v

    def flag(self, name: str, default: bool = False) -> bool:
        v = self._get(name, default)
        if not isinstance(v, bool):
            raise ApiError(422, "invalid_type", f"{name} must be true or false", field=name)
        return v


async def body_chunks(request: Request) -> AsyncIterator[bytes]:
    """The request body as it streams, failing with 408 when the client sends nothing for
    ``body_idle_timeout_s`` (a slow-drip client must not hold a connection and a file forever)."""
    state: ConsoleState = request.app.state.console
    chunks = request.stream().__aiter__()
    while True:
        try:
            with anyio.fail_after(state.body_idle_timeout_s):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise ApiError(408, "body_timeout",
                           f"the client sent nothing for {state.body_idle_timeout_s:g} s") from None
        yield chunk


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request) -> object:
    """The request body as JSON, refusing more than :data:`MAX_JSON_BYTES` while it streams."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", f"JSON body over {MAX_JSON_BYTES} bytes")
    chunks: list[bytes] = []
    n = 0
    try:
        async for chunk in body_chunks(request):
            n += len(chunk)
            if n > MAX_JSON_BYTES:
                raise ApiError(413, "too_large", f"JSON body over {MAX_JSON_BYTES} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "the request body was cut short") from None
    try:
        # NaN and Infinity are not JSON: refuse them rather than compute with them.
        return json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, "bad_json", f"the body is not valid JSON ({e})",
                       hint="send Content-Type: application/json with a JSON object") from None


def _epcore(e: EpcoreError, f: Fields) -> ApiError:
    """The typed error, with ``field`` set when the message names it or a string field holds the bad value
    ("unknown currency 'XYZ'" names no field)."""
    err = api_error_from(e, f.allowed)
    if err.field is None and e.value is not None:
        err.field = next((k for k, v in f.body.items() if isinstance(v, str) and v == e.value), None)
    return err


# --- calc ----------------------------------------------------------------------------------

CALC_FIELDS = frozenset({
    "power_w", "tokens_per_s", "price_per_kwh", "price_currency", "currency", "query_tokens", "pue", "grid",
    "grid_g_co2_per_kwh", "allow_negative_price", "label",
})
CALC_DEFAULTS: dict[str, Any] = {
    "price_per_kwh": 0.08, "price_currency": "USD", "currency": "USD", "query_tokens": 500, "pue": 1.0,
    "grid": None, "grid_g_co2_per_kwh": None, "allow_negative_price": False,
}
#: Starting values the page shows (the README's example: 8×H100 at 5.6 kW serving 2,500 tok/s).
CALC_EXAMPLE: dict[str, Any] = {"power_w": 5600, "tokens_per_s": 2500, **CALC_DEFAULTS}


def _calc(body: object) -> tuple[SteadyState, GridIntensity | None, Sensitivity]:
    f = Fields(body, CALC_FIELDS)
    grid_code = f.text("grid", None)
    grid_g = f.number("grid_g_co2_per_kwh", None)
    if grid_code is not None and grid_g is not None:
        raise ApiError(422, "conflicting_fields", "give grid or grid_g_co2_per_kwh, not both", field="grid")
    power_w, tokens_per_s = f.number("power_w"), f.number("tokens_per_s")
    price, query_tokens, pue = f.number("price_per_kwh", 0.08), f.number("query_tokens", 500.0), f.number("pue", 1.0)
    currency = f.text("currency", "USD")
    price_currency = f.text("price_currency", "USD")  # the page types prices in USD; currency converts
    allow_negative = f.flag("allow_negative_price")
    f.text("label", None)
    try:
        region = None if grid_code is None else grid_intensity(grid_code)
        if region is not None:
            grid_g = region.g_co2_per_kwh
        r = steady_state(power_w=power_w, tokens_per_s=tokens_per_s, price_per_kwh=price, currency=currency,
                         query_tokens=query_tokens, pue=pue, grid_g_co2_per_kwh=grid_g,
                         allow_negative_price=allow_negative, price_currency=price_currency)
        # The levers act on the figures as shown: the price already in the result's currency.
        s = sensitivity(power_w=power_w, tokens_per_s=tokens_per_s, price_per_kwh=r.price_per_kwh * r.rate,
                        currency=r.currency, query_tokens=query_tokens, pue=pue, grid_g_co2_per_kwh=grid_g,
                        allow_negative_price=allow_negative)
    except EpcoreError as e:
        raise _epcore(e, f) from None
    return r, region, s


def _calc_answer(r: SteadyState, region: GridIntensity | None, s: Sensitivity, svg: bool) -> dict[str, Any]:
    line = rate_line(r)
    out: dict[str, Any] = {
        "result": r.to_dict(),
        "rows": rows.calc_rows(r),
        "rate_line": line,
        "rate_note": None if line is None else RATE_CAVEAT,
        "pue_note": pue_note(r.pue),
        "grid": None if region is None else region.to_dict(),
        "grid_line": None if region is None else grid_line(region),
        "sensitivity": s.to_dict(),
        "sensitivity_rows": rows.sensitivity_rows(s),
    }
    if svg:
        out["sensitivity_svg"] = _bars_svg(s)
    return out


def _bars_svg(s: Sensitivity) -> str:
    from .. import plot_data, svg

    return svg.bars_svg(plot_data.sensitivity_bars(s))


async def calc(request: Request) -> JSONResponse:
    """POST /api/calc: steady-state figures, display rows, notes, sensitivity and its bars."""
    r, region, s = _calc(await read_json(request))
    return JSONResponse(_calc_answer(r, region, s, svg=True))


async def sensitivity_handler(request: Request) -> JSONResponse:
    """POST /api/sensitivity: the levers, their display rows and the bars."""
    _, _, s = _calc(await read_json(request))
    return JSONResponse({"sensitivity": s.to_dict(), "svg": _bars_svg(s), "rows": rows.sensitivity_rows(s)})


MAX_COMPARE = 8


async def compare(request: Request) -> JSONResponse:
    """POST /api/compare: up to 8 calc bodies side by side, and bars of each against the first."""
    from .. import plot_data, svg

    f = Fields(await read_json(request), frozenset({"scenarios"}))
    scenarios = f._get("scenarios", _REQUIRED)
    if not isinstance(scenarios, list) or not 1 <= len(scenarios) <= MAX_COMPARE:
        raise ApiError(422, "invalid_value", f"scenarios must be a list of 1 to {MAX_COMPARE} calc bodies",
                       field="scenarios")
    results: list[dict[str, Any]] = []
    bars: list[tuple[str, Any]] = []
    first_currency: str | None = None
    for i, body in enumerate(scenarios):
        try:
            r, region, s = _calc(body)
        except ApiError as e:
            raise ApiError(e.status, e.code, f"scenario {i + 1}: {e.message}", hint=e.hint,
                           field=None if e.field is None else f"scenarios[{i}].{e.field}") from None
        results.append(_calc_answer(r, region, s, svg=False))
        if first_currency is None:
            first_currency = r.currency
        elif r.currency != first_currency:
            # Costs compare only in one currency: redo this one in the first scenario's.
            r = steady_state(power_w=r.power_w, tokens_per_s=r.tokens_per_s, price_per_kwh=r.price_per_kwh,
                             currency=first_currency, query_tokens=r.query_tokens, pue=r.pue,
                             grid_g_co2_per_kwh=r.grid_g_co2_per_kwh, allow_negative_price=True,
                             price_currency=r.price_currency or r.currency)
        label = body.get("label") if isinstance(body, dict) else None
        jpt = figure("joules_per_token", r.joules_per_token, r.currency)
        name = label if isinstance(label, str) and label else f"{i + 1}: {jpt} J/token"
        bars.append((name, r.facility or r.it))
    return JSONResponse({"results": results, "svg": svg.bars_svg(plot_data.comparison_bars(bars)),
                         "currency": first_currency})


# --- fleet, floor, crossover ---------------------------------------------------------------

FLEET_FIELDS = frozenset({
    "nodes", "power_w_per_node", "utilization", "idle_power_w_per_node", "hours", "pue", "price_per_kwh",
    "currency", "grid_g_co2_per_kwh", "tokens_per_s_per_node", "allow_negative_price",
})


async def fleet_handler(request: Request) -> JSONResponse:
    """POST /api/fleet: :func:`epcore.fleet` (any number may be ``[min, max]``: :func:`epcore.fleet_range`)."""
    f = Fields(await read_json(request), FLEET_FIELDS)
    kw: dict[str, Any] = {
        "nodes": f.number_or_range("nodes"),
        "power_w_per_node": f.number_or_range("power_w_per_node"),
        "utilization": f.number_or_range("utilization"),
        "idle_power_w_per_node": f.number_or_range("idle_power_w_per_node", 0.0),
        "hours": f.number_or_range("hours", 8760.0),
        "pue": f.number_or_range("pue", 1.0),
        "price_per_kwh": f.number_or_range("price_per_kwh", 0.08),
        "grid_g_co2_per_kwh": f.number_or_range("grid_g_co2_per_kwh", None),
        "tokens_per_s_per_node": f.number_or_range("tokens_per_s_per_node", None),
    }
    ranged = any(isinstance(v, tuple) for v in kw.values())
    try:
        fn: Any = fleet_range if ranged else fleet
        result = fn(**kw, currency=f.text("currency", "USD"), allow_negative_price=f.flag("allow_negative_price"))
    except EpcoreError as e:
        raise _epcore(e, f) from None
    return JSONResponse({"result": result.to_dict(), "rows": rows.fleet_rows(result), "ranged": ranged})


FLOOR_FIELDS = frozenset({
    "price_per_mtok", "joules_per_token", "input_price_per_mtok", "output_price_per_mtok",
    "input_joules_per_token", "output_joules_per_token", "price_per_kwh", "currency", "pue", "input_tokens",
    "output_tokens", "allow_negative_price",
})


async def floor_handler(request: Request) -> JSONResponse:
    """POST /api/floor: :func:`epcore.api_floor`."""
    f = Fields(await read_json(request), FLOOR_FIELDS)
    kw = {k: f.number(k, None) for k in ("price_per_mtok", "joules_per_token", "input_price_per_mtok",
                                          "output_price_per_mtok", "input_joules_per_token",
                                          "output_joules_per_token")}
    try:
        result = api_floor(**kw, price_per_kwh=f.number("price_per_kwh", 0.08), currency=f.text("currency", "USD"),
                           pue=f.number("pue", 1.0), input_tokens=f.number("input_tokens", 0.0),
                           output_tokens=f.number("output_tokens", 500.0),
                           allow_negative_price=f.flag("allow_negative_price"))
    except EpcoreError as e:
        raise _epcore(e, f) from None
    return JSONResponse({"result": result.to_dict(), "rows": rows.floor_rows(result)})


CROSSOVER_FIELDS = frozenset({
    "training_mwh", "queries_per_day", "wh_per_query", "joules_per_token", "query_tokens", "pue", "months",
})


async def crossover_handler(request: Request) -> JSONResponse:
    """POST /api/crossover: :func:`epcore.crossover`."""
    f = Fields(await read_json(request), CROSSOVER_FIELDS)
    try:
        result = crossover(training_mwh=f.number("training_mwh"), queries_per_day=f.number("queries_per_day"),
                           wh_per_query=f.number("wh_per_query", None),
                           joules_per_token=f.number("joules_per_token", None),
                           query_tokens=f.number("query_tokens", 500.0), pue=f.number("pue", 1.0),
                           months=f.number("months", 12.0))
    except EpcoreError as e:
        raise _epcore(e, f) from None
    return JSONResponse({"result": result.to_dict(), "rows": rows.crossover_rows(result)})


# --- health and meta -------------------------------------------------------------------------

# English names of the currencies with bundled rates (and a few more); others show their code.
CURRENCY_NAMES = {
    "AUD": "Australian dollar", "BGN": "Bulgarian lev", "BRL": "Brazilian real", "CAD": "Canadian dollar",
    "CHF": "Swiss franc", "CNY": "Chinese yuan", "CZK": "Czech koruna", "DKK": "Danish krone", "EUR": "Euro",
    "GBP": "Pound sterling", "HKD": "Hong Kong dollar", "HUF": "Hungarian forint", "IDR": "Indonesian rupiah",
    "ILS": "Israeli new shekel", "INR": "Indian rupee", "ISK": "Icelandic króna", "JPY": "Japanese yen",
    "KRW": "South Korean won", "MXN": "Mexican peso", "MYR": "Malaysian ringgit", "NOK": "Norwegian krone",
    "NZD": "New Zealand dollar", "PHP": "Philippine peso", "PLN": "Polish złoty", "RON": "Romanian leu",
    "SEK": "Swedish krona", "SGD": "Singapore dollar", "THB": "Thai baht", "TRY": "Turkish lira",
    "USD": "US dollar", "ZAR": "South African rand", "AED": "UAE dirham", "SAR": "Saudi riyal",
    "TWD": "New Taiwan dollar", "KWD": "Kuwaiti dinar", "RUB": "Russian ruble", "ARS": "Argentine peso",
    "CLP": "Chilean peso", "COP": "Colombian peso", "EGP": "Egyptian pound", "NGN": "Nigerian naira",
    "VND": "Vietnamese đồng", "PKR": "Pakistani rupee", "UAH": "Ukrainian hryvnia",
}


async def health(request: Request) -> JSONResponse:
    """GET /api/health."""
    return JSONResponse({"status": "ok", "version": __version__})


def _meta(state: ConsoleState) -> dict[str, Any]:
    bundled = Rates.bundled()
    return {
        "version": __version__,
        "currencies": [{"code": c, "name": CURRENCY_NAMES.get(c, c), "decimals": d, "has_rate": c in bundled.per_eur}
                       for c, d in sorted(CURRENCIES.items())],
        "grid_regions": [{"code": g.code, "alias": g.alias, "kind": g.kind, "name": g.name,
                          "g_co2_per_kwh": g.g_co2_per_kwh, "year": g.year} for g in grid_regions()],
        "rates": {"date": bundled.date, "source": bundled.source, "note": RATE_CAVEAT},
        "defaults": CALC_EXAMPLE,
        "limits": {"max_upload_bytes": state.uploads.max_upload_bytes, "max_json_bytes": MAX_JSON_BYTES,
                   "max_running": state.jobs.max_running, "max_queued": state.jobs.max_queued,
                   "max_compare": MAX_COMPARE},
        "analysis": {"formats": list(FORMATS), "request_formats": list(REQUEST_FORMATS),
                     "weights": ["tokens", "equal", "phase"]},
    }


async def meta(request: Request) -> JSONResponse:
    """GET /api/meta: currencies, grid regions, rates, defaults and limits (computed once per launch)."""
    state: ConsoleState = request.app.state.console
    if state.meta_cache is None:
        state.meta_cache = _meta(state)
    return JSONResponse(state.meta_cache)


# --- uploads and analyses --------------------------------------------------------------------


async def upload(request: Request) -> JSONResponse:
    """POST /api/uploads?name=...: the raw body, streamed to the private directory."""
    state: ConsoleState = request.app.state.console
    declared = request.headers.get("content-length")
    try:
        up = await state.uploads.receive(body_chunks(request), name=request.query_params.get("name"),
                                         declared=int(declared) if declared and declared.isdigit() else None)
    except UploadTooLarge:
        raise ApiError(413, "too_large", f"the file is over the {state.uploads.max_upload_bytes:,}-byte limit",
                       hint="restart the console with a larger --max-upload-mb") from None
    except TooManyUploads as e:
        raise ApiError(429, "too_many_uploads", str(e), hint="wait for running analyses to finish") from None
    except StorageFull as e:
        raise ApiError(507, "storage_full", str(e), hint="wait for running analyses to finish") from None
    except ClientDisconnect:
        raise ApiError(400, "client_disconnected", "the upload was cut short") from None
    return JSONResponse(up.to_dict(), status_code=201)


ANALYSIS_FIELDS = frozenset({"power", "requests", "format", "requests_format", "tz", "weight", "idle_w", "offset_s"})


def _offset_ns(v: object) -> int:
    """Seconds (JSON number or decimal string) → integer ns, exactly (through Decimal, never a float product)."""
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ApiError(422, "invalid_type", "offset_s must be a number of seconds", field="offset_s")
    try:
        ns = Decimal(str(v).strip()).scaleb(9)
    except InvalidOperation:
        raise ApiError(422, "invalid_value", f"offset_s = {v!r}: not a number of seconds", field="offset_s") from None
    if not ns.is_finite() or ns != ns.to_integral_value() or abs(ns) >= 2**63:
        raise ApiError(422, "invalid_value", f"offset_s = {v!r}: must be whole nanoseconds within int64",
                       field="offset_s")
    return int(ns)


async def create_analysis(request: Request) -> JSONResponse:
    """POST /api/analyses: queue an analysis of uploaded files; 202 with its id, 429 when the queue is full."""
    state: ConsoleState = request.app.state.console
    f = Fields(await read_json(request), ANALYSIS_FIELDS)
    power = state.uploads.get(f.text("power"))
    if power is None:
        raise ApiError(404, "unknown_upload", "no such upload (power)", hint="upload the file again", field="power")
    req_id = f.text("requests", None)
    requests = None
    if req_id is not None:
        requests = state.uploads.get(req_id)
        if requests is None or requests.id == power.id:
            raise ApiError(404, "unknown_upload", "no such upload (requests)", field="requests")
    fmt = f.text("format", None, choices=("auto", *FORMATS))
    rfmt = f.text("requests_format", None, choices=("auto", *REQUEST_FORMATS))
    idle: Any = f.body.get("idle_w", "auto")
    if idle is None:
        idle = "off"
    elif isinstance(idle, str):
        idle = f.text("idle_w", "auto", choices=("auto", "off"))
    else:
        idle = f.number("idle_w")
    spec = AnalysisSpec(
        power=(power.path, power.name, power.bytes),
        requests=None if requests is None else (requests.path, requests.name, requests.bytes),
        format=None if fmt in (None, "auto") else fmt,
        requests_format=None if rfmt in (None, "auto") else rfmt,
        tz=f.text("tz", None),
        weight=f.text("weight", "tokens", choices=("tokens", "equal", "phase")),
        idle_w=idle,
        offset_ns=_offset_ns(f.body.get("offset_s")),
    )
    claimed = [state.uploads.claim(u.id) for u in ([power] if requests is None else [power, requests])]
    if any(c is None for c in claimed):  # a concurrent request took it first
        for c in claimed:
            if c is not None:
                state.uploads.unclaim(c)
        raise ApiError(404, "unknown_upload", "the upload is already being analysed", field="power")
    mine = [c for c in claimed if c is not None]
    limits: Limits = state.limits

    def done() -> None:
        # The files are read (or failed): nothing keeps them.
        for c in mine:
            state.uploads.release(c)

    try:
        job = state.jobs.submit(lambda j: run_analysis(j, spec, limits), on_done=done)
    except QueueFull as e:
        for c in mine:
            state.uploads.unclaim(c)
        raise ApiError(429, "busy", f"too many analyses at once ({e})", hint="try again when one finishes") from None
    return JSONResponse({"id": job.id, "state": job.state}, status_code=202)


async def get_analysis(request: Request) -> JSONResponse:
    """GET /api/analyses/{id}: state, progress, stage, and the result or error."""
    state: ConsoleState = request.app.state.console
    job = state.jobs.get(str(request.path_params["id"]))
    if job is None:
        raise ApiError(404, "unknown_analysis", "no such analysis")
    return JSONResponse(job.snapshot())
