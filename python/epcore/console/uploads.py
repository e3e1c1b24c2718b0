"""Uploaded files: streamed raw bodies, byte limits, a private directory, ids only.

The browser sends a file as the raw request body (``application/octet-stream``,
no multipart parser to attack). It is written, while it streams, to
``<private 0700 tmpdir>/<uuid4 hex>``; bytes are counted as they arrive, so a
missing or lying ``Content-Length`` changes nothing (it only lets a declared
oversize body be refused before any of it is read). Over the limit the
partial file is deleted and the caller answers 413. The client's file name is
kept as display text only; files are found by id, and an id that is not 32
hex digits is "not found" without touching the disk.

>>> import asyncio
>>> store = UploadStore(max_upload_bytes=10)
>>> async def body(*chunks):
...     for c in chunks:
...         yield c
>>> up = asyncio.run(store.receive(body(b"abc", b"def"), name="../../etc/passwd", declared=None))
>>> up.bytes, up.name, up.path.parent == store.root, up.path.name == up.id
(6, '../../etc/passwd', True, True)
>>> store.get("../../etc/passwd") is None, store.get(up.id) is up
(True, True)
>>> asyncio.run(store.receive(body(b"x" * 11), name="big", declared=None))
Traceback (most recent call last):
epcore.console.uploads.UploadTooLarge: upload over 10 bytes
>>> store.close(); store.root.exists()
False
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StorageFull", "Upload", "UploadStore", "UploadTooLarge", "TooManyUploads", "display_name"]

_ID = re.compile(r"[0-9a-f]{32}")
_NAME_MAX = 200


class UploadTooLarge(Exception):
    """The body passed ``max_upload_bytes`` (declared or counted)."""


class TooManyUploads(Exception):
    """Too many files are waiting for an analysis (or arriving at once)."""


class StorageFull(Exception):
    """The uploads on disk would pass ``max_total_bytes``."""


@dataclass(frozen=True)
class Upload:
    """One stored upload: ``id`` (uuid4 hex), ``name`` (display only), ``bytes``, ``path`` (ours)."""

    id: str
    name: str
    bytes: int
    path: Path

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "bytes": self.bytes}


def display_name(name: str | None) -> str:
    """The client's file name as display text: control characters dropped, at most 200 characters.

    It is never used as a path; the page shows it with ``textContent``.

    >>> display_name("a\\x00b\\nc.csv"), display_name(None), len(display_name("x" * 500))
    ('abc.csv', 'upload', 200)
    """
    if not name:
        return "upload"
    kept = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return kept[:_NAME_MAX] or "upload"


class UploadStore:
    """The private directory of one console launch and the uploads in it."""

    def __init__(self, *, max_upload_bytes: int, max_pending: int = 64, root: Path | None = None,
                 ttl_s: float = 3600.0, max_total_bytes: int | None = None) -> None:
        self.max_upload_bytes = int(max_upload_bytes)
        self.max_pending = int(max_pending)
        # Disk is bounded too, not only each file: a trace and its request log, twice over, by default.
        self.max_total_bytes = 4 * self.max_upload_bytes if max_total_bytes is None else int(max_total_bytes)
        self._disk_bytes = 0  # written and not yet deleted, uploads in flight and under analysis included
        self._inflight = 0
        # An upload no analysis claimed (a closed tab) is deleted after ttl_s, at the next upload.
        self.ttl_s = float(ttl_s)
        self._born: dict[str, float] = {}
        # mkdtemp creates the directory 0700: other local users cannot list or read uploads.
        self.root = Path(tempfile.mkdtemp(prefix="epcore-console-", dir=root))
        self._uploads: dict[str, Upload] = {}
        self._lock = threading.Lock()

    async def receive(self, chunks: AsyncIterator[bytes], *, name: str | None, declared: int | None) -> Upload:
        """Stream ``chunks`` to a new file; raise :class:`UploadTooLarge` past the limit (the file is removed)."""
        if declared is not None and declared > self.max_upload_bytes:
            raise UploadTooLarge(f"upload over {self.max_upload_bytes} bytes")
        self._expire()
        with self._lock:
            if len(self._uploads) + self._inflight >= self.max_pending:
                raise TooManyUploads(f"{len(self._uploads) + self._inflight} uploads are waiting for an analysis")
            self._inflight += 1
        try:
            return await self._write(chunks, name)
        finally:
            with self._lock:
                self._inflight -= 1

    async def _write(self, chunks: AsyncIterator[bytes], name: str | None) -> Upload:
        upload_id = uuid.uuid4().hex
        path = self.root / upload_id
        n = 0
        # O_EXCL + 0600: never follow or reuse something already there.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in chunks:
                    if n + len(chunk) > self.max_upload_bytes:
                        raise UploadTooLarge(f"upload over {self.max_upload_bytes} bytes")
                    with self._lock:
                        if self._disk_bytes + len(chunk) > self.max_total_bytes:
                            raise StorageFull(f"uploads on disk would pass {self.max_total_bytes} bytes")
                        self._disk_bytes += len(chunk)
                    n += len(chunk)
                    f.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            with self._lock:
                self._disk_bytes -= n
            raise
        up = Upload(upload_id, display_name(name), n, path)
        with self._lock:
            self._uploads[upload_id] = up
            self._born[upload_id] = time.monotonic()
        return up

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            old = [k for k, t in self._born.items() if now - t > self.ttl_s]
        for k in old:
            self.delete(k)

    def get(self, upload_id: object) -> Upload | None:
        """The upload with this id, or None (also for anything that is not an id)."""
        if not isinstance(upload_id, str) or _ID.fullmatch(upload_id) is None:
            return None
        with self._lock:
            return self._uploads.get(upload_id)

    def claim(self, upload_id: str) -> Upload | None:
        """Take an upload for an analysis: no other request can claim it; the file stays until
        :meth:`release`. None if it is gone (or claimed by a concurrent request)."""
        with self._lock:
            self._born.pop(upload_id, None)
            return self._uploads.pop(upload_id, None)

    def unclaim(self, up: Upload) -> None:
        """Give a claimed upload back (its analysis could not be queued)."""
        with self._lock:
            self._uploads[up.id] = up
            self._born[up.id] = time.monotonic()

    def release(self, up: Upload) -> None:
        """Delete a claimed upload's file (its analysis is over)."""
        up.path.unlink(missing_ok=True)
        with self._lock:
            self._disk_bytes -= up.bytes

    def delete(self, upload_id: str) -> None:
        """Forget an upload and remove its file (no error if already gone)."""
        with self._lock:
            up = self._uploads.pop(upload_id, None)
            self._born.pop(upload_id, None)
        if up is not None:
            up.path.unlink(missing_ok=True)
            with self._lock:
                self._disk_bytes -= up.bytes

    @property
    def disk_bytes(self) -> int:
        """Bytes of uploads on disk now (in flight and under analysis included)."""
        with self._lock:
            return self._disk_bytes

    def __len__(self) -> int:
        with self._lock:
            return len(self._uploads)

    def close(self) -> None:
        """Remove the whole directory (at shutdown)."""
        with self._lock:
            self._uploads.clear()
            self._born.clear()
            self._disk_bytes = 0
        shutil.rmtree(self.root, ignore_errors=True)
