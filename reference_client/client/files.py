"""Photo files and resumable transfers (docs/protocol.md "Files").

Theory of operation: a photo is a real file: :func:`take_photo` writes N bytes
drawn from the device's injected ``random.Random`` under the store directory,
fsyncs it and returns its sha256, all before the edit reaches the engine, so
the change the user is told about always has its bytes on disk.

:func:`upload` follows the protocol's resumable upload: ask the server how many
bytes arrived (``GET .../upload``; "If the connection drops mid-body the bytes
that arrived are kept, so the client asks the offset and continues"), append
the rest in chunks (``PATCH`` at ``Upload-Offset``, each answered with the new
offset, reported through ``progress``), then ``finish`` with the sha256. A
restarted device therefore continues from the server's offset, not its own.

:func:`download` keeps the bytes already fetched in ``<id>.part`` and asks
for the rest with a ``Range`` request; the file is renamed into place only
after its sha256 checks. Both write through ``fsync`` so a crash never leaves
a file that looks complete and is not.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
from collections.abc import Callable
from pathlib import Path

from reference_client.client.api import ServerApi

PHOTO_DIR = "photos"
# docs/protocol.md: "files at most **512 MiB**". A larger photo would be
# written, refused by the server and stay unsent forever, so it is refused
# before a byte is written.
MAX_PHOTO_BYTES = 512 * 1024 * 1024
DOWNLOAD_DIR = "files"
# Write photos in pieces so a large photo does not sit twice in memory.
WRITE_CHUNK_BYTES = 1024 * 1024

Progress = Callable[[int], None]


def safe_name(file_id: str) -> str:
    """A file name for a protocol id (ids may be ``.`` or ``..``; a prefix makes them safe)."""
    return "f_" + file_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PhotoCancelled(Exception):
    """The photo was not finished (the client is stopping); its file is gone."""


def photo_size_problem(nbytes: object) -> str | None:
    """Why ``nbytes`` cannot be a photo's size, or None."""
    if type(nbytes) is not int or nbytes <= 0:
        return f"must be a positive integer, got {nbytes!r}"
    if nbytes > MAX_PHOTO_BYTES:
        return f"{nbytes:,} is over the protocol's file limit of {MAX_PHOTO_BYTES:,} bytes"
    return None


def take_photo(store_dir: Path, rng: random.Random, nbytes: int,
               cancel: threading.Event | None = None) -> tuple[Path, str]:
    """Write ``nbytes`` random bytes to a new temporary file; ``(path, sha256)``.

    ``cancel`` is looked at between chunks: once set, the file is removed and
    :class:`PhotoCancelled` raised, so a SIGTERM during a large photo ends the
    client within one chunk and leaves nothing behind.
    """
    problem = photo_size_problem(nbytes)
    if problem:
        raise ValueError(f"photo bytes: {problem}")
    d = store_dir / PHOTO_DIR
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f"tmp-{rng.getrandbits(64):016x}"
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as f:
            left = nbytes
            while left:
                if cancel is not None and cancel.is_set():
                    raise PhotoCancelled(f"photo of {nbytes:,} bytes: stopped after "
                                         f"{nbytes - left:,}")
                piece = rng.randbytes(min(left, WRITE_CHUNK_BYTES))
                h.update(piece)
                f.write(piece)
                left -= len(piece)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, h.hexdigest()


def keep_photo(store_dir: Path, tmp: Path, change: str) -> str:
    """Name the photo after its change id; returns the path relative to the store."""
    rel = f"{PHOTO_DIR}/{safe_name(change)}"
    os.replace(tmp, store_dir / rel)
    _fsync_dir(store_dir / PHOTO_DIR)
    return rel


def sweep_temporaries(store_dir: Path) -> None:
    """Delete photos a crash left before their edit was saved (the user was never told)."""
    for p in (store_dir / PHOTO_DIR).glob("tmp-*"):
        p.unlink(missing_ok=True)


async def upload(api: ServerApi, *, file: str, path: Path, sha256: str, total: int,
                 chunk: int, progress: Progress) -> int:
    """Upload ``path`` as ``file`` from the server's offset; returns the bytes stored."""
    status = await api.upload_status(file)
    if not status.get("complete"):
        offset = int(status.get("offset") or 0)
        progress(offset)
        with path.open("rb") as f:
            while offset < total:
                f.seek(offset)
                data = f.read(min(chunk, total - offset))
                if not data:
                    raise OSError(f"photo {path}: shorter than {total} bytes")
                offset = await api.upload_chunk(file, offset, data)
                progress(offset)
    done = await api.finish(file, sha256, total)
    return int(done.get("bytes", total))


async def download(api: ServerApi, *, file: str, store_dir: Path, total: int,
                   sha256: str | None, progress: Progress) -> int:
    """Fetch ``file`` into ``files/``, resuming a ``.part``; returns its size."""
    d = store_dir / DOWNLOAD_DIR
    d.mkdir(parents=True, exist_ok=True)
    final, part = d / safe_name(file), d / (safe_name(file) + ".part")
    offset = part.stat().st_size if part.exists() else 0
    if offset > total:
        part.unlink()
        offset = 0
    progress(offset)
    if offset < total or total == 0:
        with part.open("ab") as f:
            async for piece in api.download(file, offset):
                f.write(piece)
                offset += len(piece)
                progress(offset)
            f.flush()
            os.fsync(f.fileno())
    if sha256 is not None:
        h = hashlib.sha256()
        with part.open("rb") as f:
            while piece := f.read(WRITE_CHUNK_BYTES):
                h.update(piece)
        if h.hexdigest() != sha256:
            part.unlink()  # start over next time: the bytes are not the server's file
            raise OSError(f"download {file}: sha256 mismatch")
    os.replace(part, final)
    _fsync_dir(d)
    return offset
