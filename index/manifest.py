"""The manifest: the truth about what a collection holds, plus its keyword (BM25) index.

One SQLite file per collection (`HOME/manifests/NAME.sqlite`, WAL mode) with
- `documents`: each document's source, content hash, resolved path, title and chunk ids;
- `chunks` + `chunks_fts`: every chunk's metadata and its text in an FTS5 table (Porter stemmer),
  which SQLite ranks with BM25;
- `journal`: what an ingest is in the middle of, so a killed process can be cleaned up after;
- `meta`: the embedding model's fingerprint.

Chroma holds the vectors. A change is journalled first, then written to Chroma, then applied here
in one transaction, then the replaced vectors are deleted from Chroma and the journal entry is
cleared. Readers trust this file: a vector in Chroma whose chunk is not listed here is ignored, so a
question never sees half a change, even from another process; `Manifest.recover()` deletes those
orphans after a crash.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from index.documents import Chunk
from index.errors import HomeNotWritable, ManifestCorrupt, QAError, StoreUnavailable, storage_error
from index.structure import identifier_words, keyword_extra

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY, doc_id TEXT NOT NULL, path TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '',
    chunk_ids TEXT NOT NULL, embed_model TEXT NOT NULL, updated REAL NOT NULL DEFAULT (julianday('now'))
);
CREATE INDEX IF NOT EXISTS documents_doc_id ON documents (doc_id);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, chunk_id TEXT NOT NULL UNIQUE, source TEXT NOT NULL, meta TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks (source);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (text, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS journal (
    source TEXT PRIMARY KEY, state TEXT NOT NULL, new_ids TEXT NOT NULL, old_ids TEXT NOT NULL
);
"""

# Parsed passages (index/linguistics.py), made on first use and kept: one row per distinct text.
ANNOTATIONS_SCHEMA = "CREATE TABLE IF NOT EXISTS annotations (key TEXT PRIMARY KEY, data TEXT NOT NULL)"

# Words too common to help BM25 find anything (FTS5 has no stop list of its own). "us" is kept: it is
# far more often the US in a question than the pronoun.
STOPWORDS = frozenset(
    "a an and are as at be been but by can could did do does for from had has have how i if in into is it its "
    "of on or so than that the their them then there these they this to was were what when where which who whom "
    "why will with would you your about after before done he she his her we our not no".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


def keyword_terms(text: str) -> list[str]:
    """The words of `text` worth matching, lower-cased, without stop words, deduplicated in order; an
    identifier also gives its words (`follow_redirects` -> follow, redirects; `CORSMiddleware` -> cors, middleware)."""
    words = []
    for w in _WORD.findall(text):
        words.append(w.lower())
        split = identifier_words(w)
        if split:
            words += split[0].split()
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())))


def fts_text(chunk: Chunk) -> str:
    """What the keyword index holds for a chunk: its exact text first (read back by `chunks`), then its
    section path and its identifiers split into words (index/structure.py), which are searched, never quoted."""
    extra = keyword_extra(chunk.section, chunk.text)
    return f"{chunk.text}{_EXTRA}{extra}" if extra else chunk.text


_EXTRA = "\n\u2063"  # between a chunk's text and its extra indexed words (an invisible separator: not a token)


def _from_row(text: str, meta: dict) -> Chunk:
    n = int(meta["end"]) - int(meta["start"])
    if text[n : n + len(_EXTRA)] == _EXTRA:
        text = text[:n]
    elif _EXTRA in text:
        text = text[: text.rfind(_EXTRA)]
    return Chunk.from_metadata(text, meta)


@dataclass(frozen=True)
class DocumentEntry:
    source: str
    doc_id: str
    path: str
    title: str
    chunk_ids: tuple[str, ...]
    embed_model: str


@dataclass(frozen=True)
class Change:
    """Replace whatever `source` held by `chunks` (a new version of the document), or delete it (`chunks` None)."""

    source: str
    doc_id: str = ""
    path: str = ""
    title: str = ""
    chunks: tuple[Chunk, ...] | None = None
    old_ids: tuple[str, ...] = ()

    @property
    def new_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.chunks or ())

    @property
    def stale_ids(self) -> list[str]:
        keep = set(self.new_ids)
        return [i for i in self.old_ids if i not in keep]


class Manifest:
    """One collection's manifest. Cheap to construct; the file is opened on first use."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()

    # --- connection ----------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            with self._faults():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, timeout=60, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")
                    conn.executescript(SCHEMA)
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
        return self._conn

    @contextmanager
    def _faults(self) -> Iterator[None]:
        """SQLite's and the file system's failures as the error tree's: a damaged file is ManifestCorrupt
        (and the connection is dropped, so a repaired or replaced file is read afresh), a full disk
        InsufficientStorage, a read-only home HomeNotWritable, a file locked too long StoreUnavailable."""
        try:
            yield
        except QAError:
            raise
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our own mistakes, not the file's
        except (sqlite3.DatabaseError, OSError) as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> QAError:
        name = self.path.stem
        mapped = storage_error(exc, self.path.parent)
        if mapped is not None:
            return mapped
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return StoreUnavailable(f"The manifest of collection '{name}' ({self.path}) stayed locked by another "
                                    "process; try again, and check that only one `qa serve` uses this home.")
        if isinstance(exc, OSError) or "unable to open" in text:
            return HomeNotWritable(f"Cannot open the manifest {self.path} ({exc}): its folder is read-only or not "
                                   "writable. Make it writable, or point GROUNDQA_HOME (--home) at a writable folder.")
        self._drop()
        return ManifestCorrupt(
            f"The manifest of collection '{name}' ({self.path}) is damaged ({exc}). Rebuild it from the store with "
            f"`qa repair --collection {name}` (with `qa serve` running, the command asks the server to do it).")

    def _drop(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._faults():
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the failure already ended the transaction
                raise
            db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        with self._lock, self._faults():
            return self._db().execute(sql, params).fetchall()

    def exists(self) -> bool:
        return self.path.exists()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- meta ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM meta WHERE key = ?", (key,))

    def set_model(self, fingerprint: str) -> None:
        """Record that every vector of the collection now comes from the model `fingerprint`."""
        with self._transaction() as db:
            db.execute("UPDATE documents SET embed_model = ?", (fingerprint,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('embed_model', ?)", (fingerprint,))

    @property
    def fingerprint(self) -> str | None:
        return self.get_meta("embed_model")

    # --- documents -----------------------------------------------------------------------------
    def documents(self) -> list[DocumentEntry]:
        rows = self._query("SELECT source, doc_id, path, title, chunk_ids, embed_model FROM documents ORDER BY source")
        return [_entry(r) for r in rows]

    def document(self, source: str) -> DocumentEntry | None:
        rows = self._query(
            "SELECT source, doc_id, path, title, chunk_ids, embed_model FROM documents WHERE source = ?", (source,)
        )
        return _entry(rows[0]) if rows else None

    def by_doc_id(self, doc_id: str) -> list[DocumentEntry]:
        rows = self._query(
            "SELECT source, doc_id, path, title, chunk_ids, embed_model FROM documents WHERE doc_id = ?", (doc_id,)
        )
        return [_entry(r) for r in rows]

    def count_chunks(self) -> int:
        return self._query("SELECT count(*) FROM chunks")[0][0]

    def known(self, chunk_ids: Iterable[str]) -> set[str]:
        """The ids among `chunk_ids` that the collection really holds."""
        ids = list(chunk_ids)
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self._query(f"SELECT chunk_id FROM chunks WHERE chunk_id IN ({marks})", part))
        return found

    def chunks(self, chunk_ids: Sequence[str] | None = None) -> list[Chunk]:
        """The chunks with these ids (all of them when None), in the order asked for."""
        sql = "SELECT c.chunk_id, c.meta, f.text FROM chunks c JOIN chunks_fts f ON f.rowid = c.rowid"
        if chunk_ids is None:
            return [_from_row(t, json.loads(m)) for _, m, t in self._query(sql + " ORDER BY c.source, c.rowid")]
        got: dict[str, Chunk] = {}
        ids = list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for cid, m, t in self._query(sql + f" WHERE c.chunk_id IN ({marks})", part):
                got[cid] = _from_row(t, json.loads(m))
        return [got[i] for i in ids if i in got]

    # --- keyword search ------------------------------------------------------------------------
    def search(self, text: str, k: int) -> list[tuple[str, float]]:
        """BM25 over the chunks: (chunk id, score) best first; higher is better."""
        terms = keyword_terms(text)
        if not terms or k < 1:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self._query(
            "SELECT c.chunk_id, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
            "WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
            (match, k),
        )
        return [(cid, -float(s)) for cid, s in rows]

    def chunk_frequency(self, word: str) -> int:
        """How many chunks hold the word (the keyword index's stemmed match), 0 for a word it cannot take."""
        terms = keyword_terms(word)
        if not terms:
            return 0
        match = " ".join('"' + t.replace('"', '""') + '"' for t in terms)
        return self._query("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,))[0][0]

    # --- changes -------------------------------------------------------------------------------
    def begin(self, changes: Sequence[Change]) -> None:
        """Journal the changes before any vector is written."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO journal (source, state, new_ids, old_ids) VALUES (?, 'writing', ?, ?)",
                [(c.source, json.dumps(c.new_ids), json.dumps(c.old_ids)) for c in changes],
            )

    def apply(self, changes: Sequence[Change], fingerprint: str) -> None:
        """Make the changes true here, in one transaction (their vectors are already in the store)."""
        with self._transaction() as db:
            for c in changes:
                self._remove_chunks(db, c.source)
                db.execute("DELETE FROM documents WHERE source = ?", (c.source,))
                if c.chunks is not None:
                    for chunk in c.chunks:
                        cur = db.execute(
                            "INSERT INTO chunks (chunk_id, source, meta) VALUES (?, ?, ?)",
                            (chunk.id, chunk.source, json.dumps(chunk.metadata(), sort_keys=True)),
                        )
                        db.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (cur.lastrowid, fts_text(chunk)))
                    db.execute(
                        "INSERT INTO documents (source, doc_id, path, title, chunk_ids, embed_model) VALUES (?, ?, ?, ?, ?, ?)",
                        (c.source, c.doc_id, c.path, c.title, json.dumps(c.new_ids), fingerprint),
                    )
                db.execute("UPDATE journal SET state = 'cleanup' WHERE source = ?", (c.source,))
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('embed_model', ?)", (fingerprint,))

    def finish(self, sources: Sequence[str]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM journal WHERE source = ?", [(s,) for s in sources])

    @staticmethod
    def _remove_chunks(db: sqlite3.Connection, source: str) -> None:
        rows = db.execute("SELECT rowid FROM chunks WHERE source = ?", (source,)).fetchall()
        db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", rows)
        db.execute("DELETE FROM chunks WHERE source = ?", (source,))

    def pending(self) -> list[tuple[str, str, list[str], list[str]]]:
        """Unfinished changes: (source, state, new ids, old ids)."""
        return [(s, st, json.loads(n), json.loads(o)) for s, st, n, o in
                self._query("SELECT source, state, new_ids, old_ids FROM journal")]

    def orphans(self) -> list[str]:
        """Vector ids that unfinished changes may have left in the store and that no document references."""
        candidates: list[str] = []
        for _, state, new_ids, old_ids in self.pending():
            candidates.extend(new_ids if state == "writing" else old_ids)
        known = self.known(candidates)
        return [i for i in dict.fromkeys(candidates) if i not in known]

    # --- linguistic annotations (index/linguistics.py), keyed by a hash of model, format and text ----------
    def _annotations_db(self) -> sqlite3.Connection:
        db = self._db()
        if getattr(self, "_annotations_conn", None) is not db:  # once per connection
            db.execute(ANNOTATIONS_SCHEMA)
            self._annotations_conn = db
        return db

    def get_annotations(self, keys: Sequence[str]) -> dict[str, str]:
        """Stored annotations (JSON) of the given keys that are here."""
        out: dict[str, str] = {}
        ids = list(keys)
        with self._lock, self._faults():
            db = self._annotations_db()
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                marks = ",".join("?" * len(part))
                out.update(db.execute(f"SELECT key, data FROM annotations WHERE key IN ({marks})", part).fetchall())
        return out

    def put_annotations(self, items: dict[str, str]) -> None:
        if not items:
            return
        with self._lock, self._faults():
            self._annotations_db()
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO annotations (key, data) VALUES (?, ?)", list(items.items()))

    def count_annotations(self) -> int:
        with self._lock, self._faults():
            return self._annotations_db().execute("SELECT count(*) FROM annotations").fetchone()[0]


    # --- repair --------------------------------------------------------------------------------
    def check(self) -> int:
        """Open the file and read it through (SQLite's quick integrity check); returns the chunk count.
        Raises ManifestCorrupt when the file is damaged."""
        with self._lock, self._faults():
            row = self._db().execute("PRAGMA quick_check").fetchone()
            if not row or row[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {row[0] if row else 'no answer'}")
            return self.count_chunks()

    def discard(self) -> Path | None:
        """Close the file and move it (and its WAL files) aside as NAME.sqlite.broken-N, so a fresh manifest
        can be built in its place; returns where it went (None if there was no file)."""
        with self._lock:
            self._drop()
            if not self.path.exists():
                return None
            n = 1
            while self.path.with_name(f"{self.path.name}.broken-{n}").exists():
                n += 1
            aside = self.path.with_name(f"{self.path.name}.broken-{n}")
            with self._faults():
                self.path.rename(aside)
                for suffix in ("-wal", "-shm"):
                    extra = self.path.with_name(self.path.name + suffix)
                    if extra.exists():
                        extra.rename(aside.with_name(aside.name + suffix))
            return aside


def _entry(row: tuple) -> DocumentEntry:
    source, doc_id, path, title, chunk_ids, embed_model = row
    return DocumentEntry(source, doc_id, path, title, tuple(json.loads(chunk_ids)), embed_model)


class Manifests:
    """Every collection's manifest under one folder (`HOME/manifests`)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._open: dict[str, Manifest] = {}
        self._lock = threading.Lock()

    def __call__(self, collection: str) -> Manifest:
        with self._lock:
            if collection not in self._open:
                self._open[collection] = Manifest(self.root / f"{collection}.sqlite")
            return self._open[collection]

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.sqlite")) if self.root.exists() else []
