"""Read files into Documents. Text is kept exactly as decoded so offsets stay true."""

from __future__ import annotations

from pathlib import Path

from index.documents import Document
from index.errors import DocumentError, PathNotFound, UnsupportedFileType

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ".rst"}


def supported(path: Path) -> bool:
    return path.suffix.lower() in TEXT_SUFFIXES


def expand_paths(paths: list[str | Path]) -> list[Path]:
    """Files named directly, plus the supported files inside folders (recursively, sorted).

    Raises PathNotFound for a path that does not exist, before anything is read."""
    if not paths:
        raise PathNotFound("No path given. Pass one or more files or folders, e.g. `qa ingest seeds/`.")
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise PathNotFound(f"Path not found: {raw}. Check the spelling, or pass an existing file or folder.")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and supported(p) and not _hidden(p, path))
            files.extend(found)
        else:
            files.append(path)
    if not files:
        raise PathNotFound(
            f"No supported files under {', '.join(str(p) for p in paths)}. "
            f"Supported types: {', '.join(sorted(TEXT_SUFFIXES))}."
        )
    return files


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def load(path: Path, source: str | None = None) -> Document:
    """Load one file. Raises UnsupportedFileType or DocumentError with a fix in the message."""
    if not supported(path):
        raise UnsupportedFileType(
            f"Cannot ingest {path}: '{path.suffix or 'no extension'}' files are not supported. "
            f"Supported types: {', '.join(sorted(TEXT_SUFFIXES))}."
        )
    return parse(path.read_bytes(), path, source)


def parse(data: bytes, path: Path, source: str | None = None) -> Document:
    """The Document in `data`, the bytes of the file `path` (also used to check uploads before saving them)."""
    if b"\x00" in data[:8192]:
        raise DocumentError(f"Cannot ingest {path}: it looks like a binary file, not text. Convert it to .txt or .md first.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"Cannot ingest {path}: it is not valid UTF-8 text (byte {exc.start}). Re-save it as UTF-8."
        ) from None
    if not text.strip():
        raise DocumentError(f"Cannot ingest {path}: the file is empty.")
    title = _title(text, path)
    return Document(text=text, source=source or str(path), title=title)


def _title(text: str, path: Path) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:120]
    return path.stem
