"""JSON answers and typed errors for the console API.

Every error leaves as ``{"error": {"code", "message", "hint", "field"}}`` with
a 4xx (or 5xx for our own bugs) status; every number is finite or ``null``:
a NaN or infinity becomes ``None``, never the invalid JSON token ``NaN``.

>>> json_safe({"a": float("nan"), "b": (1, float("inf")), "c": 2.5})
{'a': None, 'b': [1, None], 'c': 2.5}
>>> e = ApiError(400, "bad_json", "body is not JSON", field="power_w")
>>> e.to_dict()["error"]["field"], e.status
('power_w', 400)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from starlette.responses import Response

from ..exceptions import EpcoreError

__all__ = ["ApiError", "JSONResponse", "api_error_from", "json_safe"]


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN/inf as None, tuples and arrays as lists, numpy scalars as Python numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


class JSONResponse(Response):
    """``application/json``, compact, NaN-free (``allow_nan=False`` after :func:`json_safe`)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(json_safe(content), allow_nan=False, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """A typed API error: HTTP ``status``, stable ``code``, one-line ``message``, optional ``hint`` and ``field``."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint, "field": self.field}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.to_dict(), status_code=self.status)


# "tokens_per_s = 0: must be > 0" -> field "tokens_per_s": lets the page point at the input.
_FIELD = re.compile(r"(?:scenario '[^']*': )?([a-z_][a-z0-9_]*) = ")


def api_error_from(e: EpcoreError, fields: frozenset[str] = frozenset(), status: int = 422) -> ApiError:
    """An :class:`ApiError` from an epcore error: its code, one-line message and hint;
    ``field`` when the message names one of ``fields``.

    >>> from epcore import ConfigError
    >>> api_error_from(ConfigError("tokens_per_s = 0: must be > 0", code="invalid_argument"),
    ...                frozenset({"tokens_per_s"})).field
    'tokens_per_s'
    """
    message = " ".join(str(e).split())  # one line, whatever the core wrote
    m = _FIELD.match(message)
    field = m.group(1) if m is not None and m.group(1) in fields else None
    if field is None and e.column is not None and e.column in fields:
        field = e.column
    return ApiError(status, e.code, message, hint=e.hint, field=field)
