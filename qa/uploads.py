"""Uploaded files, shared by the HTTP API and the UI: checked (name, type, size, text) before anything is
written, then saved under `home/uploads/<collection>/<safe name>`, never outside it."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Sequence

from index.documents import Document
from index.loaders import parse
from index.store import check_collection_name
from qa.config import Config
from qa.errors import InvalidInput, UnsupportedFileType, UploadTooLarge

UPLOAD_TYPES = (".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm")


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
    paths with their documents (whose ids are the ids the index will use)."""
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
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for target, doc, data in checked:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        saved.append((target, doc))
    return saved


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
