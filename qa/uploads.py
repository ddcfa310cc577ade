"""Uploaded files, shared by the HTTP API and the UI: checked (name, type, size, text) before anything is
written, then saved under `home/uploads/<collection>/<safe name>`, never outside it. `ingest_uploads` (what
`Service.add_uploads` calls) saves and indexes them, and takes the files back off the disk if indexing fails."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Callable, Sequence

from index.documents import Document
from index.loaders import parse
from index.store import check_collection_name
from qa.config import Config
from qa.errors import InvalidInput, UnsupportedFileType, UploadTooLarge, storage_error

UPLOAD_TYPES = (".txt", ".md", ".markdown", ".rst", ".pdf", ".docx", ".html", ".htm")


def safe_upload_name(name: str) -> str:
    """The file name without any folder part, reduced to safe characters: `../../x.txt` -> `x.txt`."""
    base = os.path.basename(str(name).replace("\\", "/"))
    base = re.sub(r"[^A-Za-z0-9._ -]", "_", base).strip(" .")[:200]
    if not base or base.lower() in {s.lstrip(".") for s in UPLOAD_TYPES}:
        raise InvalidInput(f"Cannot add {name!r}: the file needs a name, e.g. notes.txt.")
    if not base.lower().endswith(UPLOAD_TYPES):
        raise UnsupportedFileType(f"Cannot add {name!r}: upload {', '.join(UPLOAD_TYPES)} files.")
    return base


def upload_folder(config: Config, collection: str) -> Path:
    return config.home / "uploads" / check_collection_name(collection)


def save_uploads(config: Config, collection: str, files: Sequence[tuple[str, bytes]]) -> list[tuple[Path, Document]]:
    """Check every file first (so one bad file saves none), then write each atomically. Returns the saved
    paths with their documents (whose ids are the ids the index will use). A full disk or a read-only home
    raises InsufficientStorage or HomeNotWritable, with nothing of this call left on disk."""
    written = _write_all(config, collection, _check(config, collection, files))
    for _, backup in written:
        if backup is not None:
            backup.unlink(missing_ok=True)
    return [(target, doc) for (target, doc), _ in written]


def ingest_uploads(config: Config, collection: str, files: Sequence[tuple[str, bytes]],
                   ingest: Callable[[list[Path], str], object]):
    """Save the files, then `ingest(paths, collection)` them. Whatever fails, no file is left on disk as if it
    had been accepted: an exception removes every file this call wrote (restoring any it replaced), and a
    file the ingest report lists as failed is removed (or restored) too. Returns (report, [(path, Document)])."""
    written = _write_all(config, collection, _check(config, collection, files))
    try:
        report = ingest([target for (target, _), _ in written], collection)
    except BaseException:
        _undo(written)
        raise
    failed = {str(e.get("source")) for e in getattr(report, "errors", [])}
    kept = []
    for (target, doc), backup in written:
        if str(target) in failed or doc.source in failed:
            _undo([((target, doc), backup)])
            continue
        if backup is not None:
            backup.unlink(missing_ok=True)
        kept.append((target, doc))
    return report, kept


def _check(config: Config, collection: str, files: Sequence[tuple[str, bytes]]) -> list[tuple[Path, Document, bytes]]:
    if not files:
        raise InvalidInput(f"No files given. Send one or more {', '.join(UPLOAD_TYPES)} files.")
    if len(files) > config.max_upload_files:
        raise UploadTooLarge(f"{len(files)} files in one upload; the limit is {config.max_upload_files}. "
                             "Send them in smaller batches (or raise GROUNDQA_MAX_UPLOAD_FILES).")
    folder = upload_folder(config, collection)
    checked = []
    for name, data in files:
        safe = safe_upload_name(name)
        if len(data) > config.max_upload_bytes:
            raise UploadTooLarge(f"{name!r} is {len(data):,} bytes; the limit is {config.max_upload_bytes:,} bytes per file "
                                 "(set GROUNDQA_MAX_UPLOAD_BYTES to raise it).")
        target = folder / safe
        if target.resolve().parent != folder.resolve():  # belt and braces: never outside the folder
            raise InvalidInput(f"Cannot add {name!r}: invalid file name.")
        checked.append((target, parse(data, Path(safe), source=str(target)), data))
    return checked


Written = tuple[tuple[Path, Document], Path | None]  # (saved path, its document), the file it replaced (moved aside)


def _write_all(config: Config, collection: str, checked: list[tuple[Path, Document, bytes]]) -> list[Written]:
    """Write each file atomically; a file already there is moved aside first (restored by `_undo`). On any
    failure everything this call wrote is undone and an OSError becomes the error tree's."""
    folder = upload_folder(config, collection)
    written: list[Written] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for target, doc, data in checked:
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())  # a full disk says so here, not later
                backup = None
                if target.exists():
                    backup = target.with_name(f".replaced-{os.getpid()}-{target.name}")
                    os.replace(target, backup)
                written.append(((target, doc), backup))
                os.replace(tmp, target)
            finally:
                Path(tmp).unlink(missing_ok=True)
    except BaseException as exc:
        _undo(written)
        mapped = storage_error(exc, folder) if isinstance(exc, OSError) else None
        if mapped is not None:
            raise mapped from exc
        raise
    return written


def _undo(written: Sequence[Written]) -> None:
    """Remove the files written, putting back any they replaced."""
    for (target, _), backup in reversed(list(written)):
        try:
            target.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, target)
        except OSError:
            pass  # best effort: the caller reports the original failure


def remove_upload(config: Config, collection: str, source: str, doc_id: str) -> bool:
    """Delete the uploaded file `source` if it is in the collection's upload folder and still holds `doc_id`."""
    folder = upload_folder(config, collection).resolve()
    path = Path(source).resolve()
    if path.parent != folder or not path.is_file():
        return False
    try:
        if parse(path.read_bytes(), path).id != doc_id:
            return False
    except InvalidInput:
        return False
    path.unlink(missing_ok=True)
    return True
