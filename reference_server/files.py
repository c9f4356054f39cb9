"""Files stored by content hash, with resumable uploads and ranged reads.

Theory of operation: an upload in progress is a file ``partial/<h>`` (``h`` =
sha256 of the file id, so any id is a safe file name) whose size *is* the
number of bytes that arrived: a client that lost its connection asks the
offset and appends from there, even across a server restart. ``finish``
hashes the partial file in a worker thread; on a match it is moved to
``blobs/<sha256>`` (one copy per content, "files stored by content hash"), on
a mismatch it is deleted ("wrong hash -> 4xx and nothing stored"). Bodies move
in ``FILE_CHUNK_BYTES`` pieces in both directions, never whole in memory.

    PATCH chunks --> partial/<h> --finish, sha ok--> blobs/<sha256> <-- GET Range
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from reference_server.limits import FILE_CHUNK_BYTES


class BlobStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.partial_dir = self.root / "partial"
        self.blob_dir = self.root / "blobs"
        self.partial_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    def partial_path(self, file_id: str) -> Path:
        return self.partial_dir / hashlib.sha256(file_id.encode()).hexdigest()

    def blob_path(self, sha256: str) -> Path:
        return self.blob_dir / sha256

    def offset(self, file_id: str) -> int:
        try:
            return self.partial_path(file_id).stat().st_size
        except FileNotFoundError:
            return 0

    async def append(self, file_id: str, offset: int, chunks: AsyncIterator[bytes],
                     max_total: int) -> int:
        """Write ``chunks`` at ``offset``; return the new size.

        Raises :class:`OverflowError` (after truncating back to ``offset``) when
        the file would exceed ``max_total``. Any other exception (a dropped
        connection) keeps the bytes that arrived.
        """
        path = self.partial_path(file_id)
        with open(path, "ab") as fh:
            size = offset
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_total:
                        raise OverflowError(size)
                    fh.write(chunk)
            except OverflowError:
                fh.flush()
                fh.truncate(offset)
                raise
            finally:
                fh.flush()
        return size

    def hash_partial(self, file_id: str) -> tuple[str, int]:
        """sha256 and size of the partial upload (blocking: run it in a thread)."""
        h = hashlib.sha256()
        n = 0
        with open(self.partial_path(file_id), "rb") as fh:
            while chunk := fh.read(FILE_CHUNK_BYTES):
                h.update(chunk)
                n += len(chunk)
        return h.hexdigest(), n

    def commit(self, file_id: str, sha256: str) -> None:
        src = self.partial_path(file_id)
        dst = self.blob_path(sha256)
        if dst.exists():
            src.unlink(missing_ok=True)
        else:
            os.replace(src, dst)

    def discard(self, file_id: str) -> None:
        self.partial_path(file_id).unlink(missing_ok=True)

    def read(self, sha256: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start..end`` inclusive of the blob, in chunks."""
        with open(self.blob_path(sha256), "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = fh.read(min(FILE_CHUNK_BYTES, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range as inclusive ``(start, end)``; None if unsatisfiable/malformed."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    a, sep, b = spec.strip().partition("-")
    if not sep:
        return None
    a, b = a.strip(), b.strip()
    if not (_digits(a) or not a) or not (_digits(b) or not b) or (not a and not b):
        return None
    if not a:  # suffix: the last n bytes
        n = _offset(b)
        if n == 0 or size == 0:
            return None
        return max(0, size - n), size - 1
    start = _offset(a)
    end = _offset(b) if b else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


# A byte offset of more digits than this lies past every file the server holds
# (files are capped far below 10**19 bytes); reading it as that cap keeps a
# 5,000-digit header from reaching int()'s digit limit (a 500, not a 416).
_OFFSET_DIGITS = 19


def _offset(s: str) -> int:
    return int(s) if len(s) <= _OFFSET_DIGITS else 10 ** _OFFSET_DIGITS


def _digits(s: str) -> bool:
    # str.isdigit alone accepts "²" and other Unicode digits int() refuses.
    return s.isascii() and s.isdigit()
