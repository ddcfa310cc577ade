"""Eval datasets: the JSONL format, the `seed` set kept in the repository, and the ClapNQ adapter.

The JSONL format, one object per line:

    {"id": "s01", "question": "How did the US vote?", "answers": ["against"], "answerable": true,
     "evidence": ["On the same day, the UN General Assembly adopted a resolution ..."]}

`evidence` are exact sentences copied from the documents (retrieval metrics look for them in the
retrieved passages); `answers` are short reference answers. Unanswerable questions have
`"answerable": false` and empty `answers` and `evidence`. The documents come from `--docs`.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

from index.documents import Document, content_hash
from index.loaders import expand_paths, load
from qa.errors import InvalidInput, PathNotFound

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().with_name("data")
SEED_FILE = DATA / "seed.jsonl"
SEED_DOCS = ROOT / "seeds"
CLAPNQ_ENV = "GROUNDQA_CLAPNQ"
CLAPNQ_DEFAULT = ROOT.parent / "shared" / "data" / "clapnq" / "dev"
CLAPNQ_FILES = ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl")
CLAPNQ_SEED = 4  # fixes the default 50 + 50 subset; change it only on purpose (it changes every number)
CLAPNQ_LIMIT = 100


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    evidence: list[str]  # exact sentences from the documents
    gold_sources: list[str] = field(default_factory=list)  # sources of the gold passages, when known

    def to_dict(self) -> dict:
        d = {"id": self.id, "question": self.question, "answers": list(self.answers),
             "answerable": self.answerable, "evidence": list(self.evidence)}
        if self.gold_sources:
            d["gold_sources"] = list(self.gold_sources)
        return d


@dataclass
class Dataset:
    """Questions plus the documents they are asked about."""

    name: str
    examples: list[Example]
    documents: list[Document]

    @property
    def fingerprint(self) -> str:
        """Identifies the document set, so an eval collection is reused only for the same documents."""
        return content_hash(*sorted(f"{d.source}\x00{d.id}" for d in self.documents), length=10)

    @property
    def collection(self) -> str:
        stem = "".join(c if c.isalnum() else "-" for c in self.name.lower()).strip("-")[:30] or "data"
        return f"eval-{stem}-{self.fingerprint}"


# --- JSONL ----------------------------------------------------------------------------------------
def parse_example(obj: object, where: str) -> Example:
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: expected a JSON object like "
                           '{"id": ..., "question": ..., "answers": [...], "answerable": true, "evidence": [...]}.')
    missing = [k for k in ("id", "question", "answerable") if k not in obj]
    if missing:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}. "
                           "Each line needs id, question, answers, answerable and evidence.")
    question = obj["question"]
    if not isinstance(question, str) or not question.strip():
        raise InvalidInput(f"{where}: 'question' must be non-empty text.")
    if not isinstance(obj["answerable"], bool):
        raise InvalidInput(f"{where}: 'answerable' must be true or false, got {obj['answerable']!r}.")
    lists = {}
    for key in ("answers", "evidence", "gold_sources"):
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"{where}: '{key}' must be a list of strings.")
        lists[key] = value
    if obj["answerable"] and not lists["answers"]:
        raise InvalidInput(f"{where}: an answerable question needs at least one reference answer in 'answers'.")
    return Example(id=str(obj["id"]), question=question.strip(), answers=lists["answers"],
                   answerable=obj["answerable"], evidence=lists["evidence"], gold_sources=lists["gold_sources"])


def json_lines(path: Path, fix: str):
    """(line number, parsed object) for each non-blank line of a JSONL file; a bad line raises
    InvalidInput naming the file, the line and `fix`."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path}:{i}: not valid JSON ({exc.msg}). {fix}") from None


def load_jsonl(path: str | Path) -> list[Example]:
    """Examples from a JSONL file in the format above. Raises PathNotFound / InvalidInput with a fix."""
    path = Path(path)
    if not path.is_file():
        raise PathNotFound(f"Dataset file not found: {path}. Pass `--dataset seed`, `--dataset clapnq` "
                           "or the path of a JSONL file (one question object per line).")
    examples: list[Example] = []
    seen: set[str] = set()
    for i, obj in json_lines(path, "Each line must be one JSON object."):
        ex = parse_example(obj, f"{path}:{i}")
        if ex.id in seen:
            raise InvalidInput(f"{path}:{i}: duplicate id {ex.id!r}. Give every question its own id.")
        seen.add(ex.id)
        examples.append(ex)
    if not examples:
        raise InvalidInput(f"{path} has no questions. Add one JSON object per line.")
    return examples


def load_documents(paths: list[str | Path]) -> list[Document]:
    """Documents from files or folders, exactly as `qa ingest` reads them."""
    return [load(f) for f in expand_paths([str(p) for p in paths])]


# --- seed -----------------------------------------------------------------------------------------
def seed_dataset() -> list[Example]:
    """The hand-written questions on the seed article (evals/data/seed.jsonl)."""
    return load_jsonl(SEED_FILE)


def seed_documents() -> list[Document]:
    return load_documents([SEED_DOCS])


# --- ClapNQ ---------------------------------------------------------------------------------------
def clapnq_path(path: str | Path | None = None) -> Path:
    folder = Path(path or os.environ.get(CLAPNQ_ENV) or CLAPNQ_DEFAULT)
    missing = [name for name in CLAPNQ_FILES if not (folder / name).is_file()]
    if missing:
        raise PathNotFound(
            f"ClapNQ dev files not found in {folder} (missing {', '.join(missing)}). "
            f"Pass the folder with --docs or set {CLAPNQ_ENV}; the files come from "
            "https://github.com/primeqa/clapnq (retrieval/dev or annotated_data/dev)."
        )
    return folder


def _clapnq_source(title: str, text: str) -> str:
    return f"clapnq/{title}#{content_hash(text, length=10)}"


def _read_rows(file: Path) -> list[dict]:
    return [row for _, row in json_lines(file, "Re-download the ClapNQ file.")]


def clapnq(path: str | Path | None = None, limit: int | None = CLAPNQ_LIMIT, all: bool = False,
           seed: int = CLAPNQ_SEED) -> tuple[list[Example], list[Document]]:
    """ClapNQ dev: examples (a fixed, seeded subset, half answerable and half unanswerable, unless `all`)
    and the documents for ALL pooled dev passages (deduplicated), so every question searches the same pool."""
    folder = clapnq_path(path)
    documents: dict[str, Document] = {}
    pools: dict[bool, list[Example]] = {True: [], False: []}
    for name, answerable in zip(CLAPNQ_FILES, (True, False)):
        for row in _read_rows(folder / name):
            sources = []
            for p in row.get("passages", []):
                text, title = p.get("text", ""), p.get("title", "")
                if not text.strip():
                    continue
                source = _clapnq_source(title, text)
                documents.setdefault(source, Document(text=text, source=source, title=title))
                sources.append(source)
            outputs = row.get("output") or []
            answers = [o["answer"].strip() for o in outputs if (o.get("answer") or "").strip()]
            evidence = list(dict.fromkeys(s for o in outputs for s in (o.get("selected_sentences") or []) if s.strip()))
            if answerable and not answers:
                continue  # nothing to score against
            pools[answerable].append(Example(
                id=str(row["id"]), question=str(row["input"]).strip(), answers=answers if answerable else [],
                answerable=answerable, evidence=evidence if answerable else [], gold_sources=sources,
            ))
    if all:
        examples = pools[True] + pools[False]
    else:
        n = CLAPNQ_LIMIT if limit is None else limit
        if n < 1:
            raise InvalidInput(f"--limit must be a positive number of questions, got {n}.")
        rng = random.Random(seed)
        want = {True: (n + 1) // 2, False: n // 2}
        examples = []
        for answerable in (True, False):
            pool = sorted(pools[answerable], key=lambda e: e.id)
            examples += rng.sample(pool, min(want[answerable], len(pool)))
    return examples, list(documents.values())
