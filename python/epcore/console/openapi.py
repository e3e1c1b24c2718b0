"""The console API described as OpenAPI 3.1, served at ``/api/openapi.json``.

:data:`ROUTES` is the one list of API routes: the app registers exactly these
and the document lists exactly these, so the two cannot drift (a test checks
both ways against the running server).

>>> doc = openapi()
>>> doc["openapi"], sorted(doc["paths"])[:3]
('3.1.0', ['/api/analyses', '/api/analyses/{id}', '/api/calc'])
>>> all(p in doc["paths"] and m.lower() in doc["paths"][p] for p, m, _ in ROUTES)
True
"""

from __future__ import annotations

from typing import Any

from .. import __version__

__all__ = ["ROUTES", "openapi"]

#: (path, method, handler name) of every ``/api`` route.
ROUTES: tuple[tuple[str, str, str], ...] = (
    ("/api/health", "GET", "health"),
    ("/api/meta", "GET", "meta"),
    ("/api/openapi.json", "GET", "openapi"),
    ("/api/calc", "POST", "calc"),
    ("/api/sensitivity", "POST", "sensitivity"),
    ("/api/fleet", "POST", "fleet"),
    ("/api/floor", "POST", "floor"),
    ("/api/crossover", "POST", "crossover"),
    ("/api/compare", "POST", "compare"),
    ("/api/uploads", "POST", "upload"),
    ("/api/analyses", "POST", "create_analysis"),
    ("/api/analyses/{id}", "GET", "get_analysis"),
)

NUM = {"type": "number"}
NUM_OR_NULL = {"type": ["number", "null"]}
STR = {"type": "string"}
STR_OR_NULL = {"type": ["string", "null"]}
BOOL = {"type": "boolean"}
RANGE = {"oneOf": [NUM, {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}]}
OBJ = {"type": "object"}
OBJ_OR_NULL = {"type": ["object", "null"]}


def _obj(props: dict[str, Any], required: tuple[str, ...] = (), extra: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": extra}
    if required:
        d["required"] = list(required)
    return d


def _rows(*cols: str) -> dict[str, Any]:
    return {"type": "array", "items": _obj({c: STR_OR_NULL for c in cols}, extra=True)}


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": STR, "message": STR, "hint": STR_OR_NULL, "field": STR_OR_NULL},
                                ("code", "message", "hint", "field"))}, ("error",)),
    "CalcBody": _obj({
        "power_w": NUM, "tokens_per_s": NUM, "price_per_kwh": {**NUM, "default": 0.08},
        "price_currency": {**STR, "default": "USD", "description": "ISO 4217 code of price_per_kwh"},
        "currency": {**STR, "default": "USD", "description": "ISO 4217 code the costs are shown in"},
        "query_tokens": {**NUM, "default": 500}, "pue": {**NUM, "default": 1.0},
        "grid": {**STR_OR_NULL, "description": "grid region code (DE, US-CA, gcp:europe-west1...)"},
        "grid_g_co2_per_kwh": {**NUM_OR_NULL, "description": "instead of grid"},
        "allow_negative_price": BOOL, "label": {**STR_OR_NULL, "description": "name in /api/compare bars"},
    }, ("power_w", "tokens_per_s")),
    "CalcResponse": _obj({
        "result": OBJ, "rows": _rows("name", "label", "unit", "it", "facility"), "rate_line": STR_OR_NULL,
        "rate_note": STR_OR_NULL, "pue_note": STR, "grid": OBJ_OR_NULL, "grid_line": STR_OR_NULL,
        "sensitivity": OBJ, "sensitivity_rows": OBJ, "sensitivity_svg": STR,
    }, ("result", "rows", "rate_line", "rate_note", "pue_note", "grid", "sensitivity")),
    "SensitivityResponse": _obj({"sensitivity": OBJ, "svg": STR, "rows": OBJ}, ("sensitivity", "svg", "rows")),
    "FleetBody": _obj({
        "nodes": RANGE, "power_w_per_node": RANGE, "utilization": RANGE, "idle_power_w_per_node": RANGE,
        "hours": RANGE, "pue": RANGE, "price_per_kwh": RANGE, "currency": STR, "grid_g_co2_per_kwh": RANGE,
        "tokens_per_s_per_node": RANGE, "allow_negative_price": BOOL,
    }, ("nodes", "power_w_per_node", "utilization")),
    "FloorBody": _obj({
        k: NUM_OR_NULL for k in ("price_per_mtok", "joules_per_token", "input_price_per_mtok",
                                 "output_price_per_mtok", "input_joules_per_token", "output_joules_per_token",
                                 "price_per_kwh", "pue", "input_tokens", "output_tokens")
    } | {"currency": STR, "allow_negative_price": BOOL}),
    "CrossoverBody": _obj({
        k: NUM_OR_NULL for k in ("training_mwh", "queries_per_day", "wh_per_query", "joules_per_token",
                                 "query_tokens", "pue", "months")
    }, ("training_mwh", "queries_per_day")),
    "ResultRows": _obj({"result": OBJ, "rows": {"type": "array", "items": OBJ}, "ranged": BOOL},
                       ("result", "rows"), extra=True),
    "CompareBody": _obj({"scenarios": {"type": "array", "minItems": 1, "maxItems": 8,
                                       "items": {"$ref": "#/components/schemas/CalcBody"}}}, ("scenarios",)),
    "CompareResponse": _obj({"results": {"type": "array", "items": OBJ}, "svg": STR, "currency": STR},
                            ("results", "svg")),
    "Upload": _obj({"id": {**STR, "pattern": "^[0-9a-f]{32}$"}, "name": STR, "bytes": {"type": "integer"}},
                   ("id", "name", "bytes")),
    "AnalysisBody": _obj({
        "power": {**STR, "description": "upload id"}, "requests": {**STR_OR_NULL, "description": "upload id"},
        "format": STR_OR_NULL, "requests_format": STR_OR_NULL, "tz": STR_OR_NULL,
        "weight": {"enum": ["tokens", "equal", "phase"], "default": "tokens"},
        "idle_w": {"oneOf": [{"enum": ["auto", "off", None]}, NUM], "default": "auto"},
        "offset_s": {"oneOf": [NUM, STR, {"type": "null"}], "default": 0},
    }, ("power",)),
    "AnalysisCreated": _obj({"id": STR, "state": STR}, ("id", "state")),
    "Analysis": _obj({
        "id": STR, "state": {"enum": ["queued", "running", "done", "error"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1}, "stage": STR,
        "result": {"oneOf": [_obj({
            "energy": OBJ, "format": STR, "attribution": OBJ_OR_NULL,
            "headline": _rows("label", "value", "unit"), "distribution": {"type": "array", "items": OBJ},
            "svgs": _obj({k: STR for k in ("power", "jpt", "histogram", "phases")}),
            "quality": OBJ, "warnings": {"type": "array", "items": STR},
        }, ("energy", "attribution", "headline", "svgs", "quality", "warnings")), {"type": "null"}]},
        "error": {"oneOf": [{"$ref": "#/components/schemas/Error/properties/error"}, {"type": "null"}]},
    }, ("id", "state", "progress", "stage", "result", "error")),
    "Health": _obj({"status": {"const": "ok"}, "version": STR}, ("status", "version")),
    "Meta": _obj({
        "version": STR,
        "currencies": {"type": "array", "items": _obj({"code": STR, "name": STR, "decimals": {"type": "integer"},
                                                       "has_rate": BOOL}, ("code", "name"))},
        "grid_regions": {"type": "array", "items": _obj({"code": STR, "alias": STR_OR_NULL, "kind": STR,
                                                         "name": STR, "g_co2_per_kwh": NUM,
                                                         "year": {"type": "integer"}}, ("code", "name"))},
        "rates": _obj({"date": STR_OR_NULL, "source": STR, "note": STR}, ("date", "source", "note")),
        "defaults": OBJ, "limits": _obj({"max_upload_bytes": {"type": "integer"}}, ("max_upload_bytes",),
                                        extra=True),
        "analysis": OBJ,
    }, ("version", "currencies", "grid_regions", "rates", "defaults", "limits")),
}

# (summary, request schema or None, {status: response schema})
_OPS: dict[str, tuple[str, str | None, dict[int, str]]] = {
    "health": ("Liveness and version", None, {200: "Health"}),
    "meta": ("Currencies, grid regions, rate table, defaults and limits", None, {200: "Meta"}),
    "openapi": ("This document", None, {200: "OpenAPI"}),
    "calc": ("Steady-state energy, cost and carbon per token and per query, with display rows and sensitivity",
             "CalcBody", {200: "CalcResponse"}),
    "sensitivity": ("What each lever does to every figure", "CalcBody", {200: "SensitivityResponse"}),
    "fleet": ("A fleet of nodes over a period (any number may be [min, max])", "FleetBody", {200: "ResultRows"}),
    "floor": ("The electricity cost floor under an API price", "FloorBody", {200: "ResultRows"}),
    "crossover": ("Days until inference energy passes training energy", "CrossoverBody", {200: "ResultRows"}),
    "compare": ("Up to 8 scenarios side by side", "CompareBody", {200: "CompareResponse"}),
    "upload": ("Upload one file as the raw body (streamed; 413 over the limit)", "octet-stream",
               {201: "Upload", 408: "Error", 413: "Error", 429: "Error", 507: "Error"}),
    "create_analysis": ("Analyse uploaded files in the background", "AnalysisBody",
                        {202: "AnalysisCreated", 404: "Error", 429: "Error"}),
    "get_analysis": ("An analysis: state, progress, result or error", None, {200: "Analysis", 404: "Error"}),
}


def _ref(name: str) -> dict[str, Any]:
    if name == "OpenAPI":
        return {"type": "object"}
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(path: str, method: str, name: str) -> dict[str, Any]:
    summary, body, answers = _OPS[name]
    op: dict[str, Any] = {"operationId": name, "summary": summary, "responses": {}}
    for status, schema in answers.items():
        op["responses"][str(status)] = {"description": "OK" if status < 300 else "error",
                                        "content": {"application/json": {"schema": _ref(schema)}}}
    if method == "POST":
        op["parameters"] = [{"name": "X-Epcore-Token", "in": "header", "required": True,
                             "schema": STR, "description": "the launch token (the page's epcore-token meta tag)"}]
        op["responses"].setdefault("403", {"description": "foreign Host/Origin or bad token",
                                           "content": {"application/json": {"schema": _ref("Error")}}})
        if body == "octet-stream":
            op["parameters"].append({"name": "name", "in": "query", "required": False, "schema": STR,
                                     "description": "display name of the file (never used as a path)"})
            op["requestBody"] = {"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
        elif body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
            op["responses"].setdefault("422", {"description": "invalid field or value",
                                               "content": {"application/json": {"schema": _ref("Error")}}})
    if "{id}" in path:
        op.setdefault("parameters", []).append({"name": "id", "in": "path", "required": True,
                                                "schema": {**STR, "pattern": "^[0-9a-f]{32}$"}})
    return op


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the console API."""
    paths: dict[str, dict[str, Any]] = {}
    for path, method, name in ROUTES:
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, name)
    return {
        "openapi": "3.1.0",
        "info": {"title": "epcore console API", "version": __version__,
                 "description": "Local web console of epcore: every figure computed by the Rust core, "
                                "with display strings. State-changing requests need the X-Epcore-Token header."},
        "paths": paths,
        "components": {"schemas": SCHEMAS},
    }
