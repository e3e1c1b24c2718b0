"""The exceptions epcore raises.

Every error from the Rust core arrives as one of these classes (the mapping
lives in one place, ``rust/epcore-python/src/errors.rs``), with structured
attributes so callers never parse messages. All of them are also
``ValueError``, so code that guards numeric input with ``except ValueError``
keeps working. Operating-system failures stay builtin ``OSError``.

>>> import epcore, numpy as np
>>> try:
...     epcore.integrate(np.array([0, 1_000_000_000]), np.array([100.0, -50.0]))
... except epcore.TraceError as e:
...     print(e.code, e.index)
negative_power 1
"""

from __future__ import annotations

__all__ = ["EpcoreError", "ParseError", "SchemaError", "TraceError", "UnitError", "ConfigError"]


class EpcoreError(ValueError):
    """Base class: bad input or arguments, with where and why.

    Attributes: ``code`` (stable machine-readable name), ``reason``, ``hint``,
    ``value`` (the offending value, at most 64 bytes), and where known
    ``path``, ``line`` (1-based), ``column``, ``byte_offset`` and ``index``
    (0-based row of an in-memory array).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        reason: str | None = None,
        hint: str | None = None,
        value: str | None = None,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
        byte_offset: int | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason if reason is not None else message
        self.hint = hint
        self.value = value
        self.path = path
        self.line = line
        self.column = column
        self.byte_offset = byte_offset
        self.index = index

    def to_dict(self) -> dict[str, object]:
        """The error as JSON-ready fields (``type`` is the class name)."""
        return {
            "type": type(self).__name__,
            "code": self.code,
            "message": str(self),
            "reason": self.reason,
            "hint": self.hint,
            "value": self.value,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "byte_offset": self.byte_offset,
            "index": self.index,
        }


class ParseError(EpcoreError):
    """Bytes that cannot be read as the declared format (file, line, column, value)."""


class SchemaError(EpcoreError):
    """Missing or unexpected columns, or arrays of mismatched shape."""


class TraceError(EpcoreError):
    """Values that parse but make the trace unusable: unsorted, conflicting, implausible, too short."""


class UnitError(EpcoreError):
    """A unit that is missing, wrong or ambiguous."""


class ConfigError(EpcoreError):
    """An argument outside its domain (zero throughput, negative price, unknown rule...)."""
