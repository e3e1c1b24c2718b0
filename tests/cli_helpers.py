"""Running ``epcore`` in-process from tests: exit code, stdout and stderr, and checks on them."""

from __future__ import annotations

import csv
import io

import pytest

from epcore.cli import cli


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``epcore ARGS`` in-process: (exit code, stdout, stderr)."""
    code = cli(*args)
    r = capsys.readouterr()
    return code, r.out, r.err


def one_line(err: str) -> str:
    """The one line of an error on stderr: no traceback, no boxed panel."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "╭" not in err, err
    return lines[0]


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of CSV text as dicts by header."""
    return list(csv.DictReader(io.StringIO(text)))
