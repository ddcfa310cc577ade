"""Eval datasets: the JSONL format and the built-in sets, all kept in the repository (evals/data/,
provenance and licences in evals/data/README.md): `seed`, `clapnq`, `musique` and `docs`. (`claims` and
`conversations` have formats of their own: evals/claims.py, evals/conversations.py, whose turns are parsed
with `parse_example` below.)

The JSONL format, one object per line:

    {"id": "s01", "question": "How did the US vote?", "answers": ["against"], "answerable": true,
     "evidence": ["On the same day, the UN General Assembly adopted a resolution ..."], "split": "tune"}

`evidence` are exact sentences copied from the documents (retrieval metrics look for them in the
retrieved passages); `answers` are short reference answers. Unanswerable questions have
`"answerable": false` and empty `answers` and `evidence`. The documents come from `--docs`.
`split` (optional) is `tune` or `test` (see evals/splits.py); every example carries one.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from evals.splits import SPLITS, check_split, hash_split
from index.chunking import split_sentences
from index.documents import Document, content_hash
from index.loaders import expand_paths, load
from qa.errors import InvalidInput, PathNotFound

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().with_name("data")
SEED_FILE = DATA / "seed.jsonl"
SEED_DOCS = ROOT / "seeds"
CLAPNQ_ENV = "GROUNDQA_CLAPNQ"
CLAPNQ_DEFAULT = DATA / "clapnq"
CLAPNQ_FILES = ("clapnq_dev_answerable.jsonl", "clapnq_dev_unanswerable.jsonl")
CLAPNQ_SEED = 4  # fixes the default 50 + 50 subset; change it only on purpose (it changes every number)
CLAPNQ_LIMIT = 100
MUSIQUE_DIR = DATA / "musique"
MUSIQUE_QUESTIONS = MUSIQUE_DIR / "musique_sample.json"
MUSIQUE_CORPUS = MUSIQUE_DIR / "musique_sample_corpus.json"
DOCS_DIR = DATA / "docs"
DOCS_QUESTIONS = DOCS_DIR / "questions.jsonl"
DOCS_DOCUMENTS = DOCS_DIR / "starlette"


@dataclass(frozen=True)
class Example:
    id: str
    question: str
    answers: list[str]
    answerable: bool
    evidence: list[str]  # exact sentences from the documents
    gold_sources: list[str] = field(default_factory=list)  # sources of the gold passages, when known
    split: str = "tune"  # "tune" or "test" (evals/splits.py)

    def to_dict(self) -> dict:
        d = {"id": self.id, "question": self.question, "answers": list(self.answers),
             "answerable": self.answerable, "evidence": list(self.evidence)}
        if self.gold_sources:
            d["gold_sources"] = list(self.gold_sources)
        d["split"] = self.split
        return d


def select_split(examples: Sequence[Example], split: str) -> list[Example]:
    """The examples of `split` (`tune`, `test`, or `all` for every one), in their order."""
    split = check_split(split)
    return list(examples) if split == "all" else [e for e in examples if e.split == split]


@dataclass
class Dataset:
    """Questions plus the documents they are asked about."""

    name: str
    examples: list[Example]
    documents: list[Document]
    split: str = "all"  # which split `examples` were taken from; the documents never depend on it
    corpus: str = ""  # the name of the document set when another dataset's (its eval collection is shared)

    @property
    def fingerprint(self) -> str:
        """Identifies the document set, so an eval collection is reused only for the same documents."""
        return content_hash(*sorted(f"{d.source}\x00{d.id}" for d in self.documents), length=10)

    @property
    def collection(self) -> str:
        stem = "".join(c if c.isalnum() else "-" for c in (self.corpus or self.name).lower()).strip("-")[:30] or "data"
        return f"eval-{stem}-{self.fingerprint}"


# --- JSONL ----------------------------------------------------------------------------------------
def parse_example(obj: object, where: str, default_split: str | Callable[[str], str] = "tune") -> Example:
    """One example; without a "split" field its split is `default_split` (or `default_split(id)`)."""
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
    item_id = str(obj["id"])
    if "split" in obj:
        split = obj["split"]
        if split not in SPLITS:
            raise InvalidInput(f"{where}: 'split' must be \"tune\" or \"test\", got {split!r} "
                               "(or leave the field out).")
    else:
        split = default_split(item_id) if callable(default_split) else default_split
    return Example(id=item_id, question=question.strip(), answers=lists["answers"], answerable=obj["answerable"],
                   evidence=lists["evidence"], gold_sources=lists["gold_sources"], split=split)


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


def unique_items(path: Path, parse: Callable[[object, str], Any], noun: str, shape: str) -> list:
    """Each line of a JSONL file parsed with `parse(obj, where)`; ids must be unique and the file non-empty
    (`noun` names an item in the messages: "claim", "conversation")."""
    items: list = []
    seen: set[str] = set()
    for i, obj in json_lines(path, shape):
        item = parse(obj, f"{path}:{i}")
        if item.id in seen:
            raise InvalidInput(f"{path}:{i}: duplicate id {item.id!r}. Give every {noun} its own id.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise InvalidInput(f"{path} has no {noun}s. Add one JSON object per line.")
    return items


def read_jsonl(path: str | Path, default_split: str | Callable[[str], str] = "tune") -> tuple[list[Example], bool]:
    """Examples from a JSONL file in the format above, and whether any line has a "split" field.
    Raises PathNotFound / InvalidInput with a fix."""
    path = Path(path)
    if not path.is_file():
        raise PathNotFound(f"Dataset file not found: {path}. Pass `--dataset seed`, `--dataset clapnq`, "
                           "`--dataset musique`, `--dataset docs` or the path of a JSONL file (one question "
                           "object per line).")
    examples: list[Example] = []
    seen: set[str] = set()
    has_split = False
    for i, obj in json_lines(path, "Each line must be one JSON object."):
        ex = parse_example(obj, f"{path}:{i}", default_split)
        if ex.id in seen:
            raise InvalidInput(f"{path}:{i}: duplicate id {ex.id!r}. Give every question its own id.")
        seen.add(ex.id)
        has_split = has_split or "split" in obj
        examples.append(ex)
    if not examples:
        raise InvalidInput(f"{path} has no questions. Add one JSON object per line.")
    return examples, has_split


def load_jsonl(path: str | Path, default_split: str | Callable[[str], str] = "tune") -> list[Example]:
    """Examples from a JSONL file in the format above (see `read_jsonl`)."""
    return read_jsonl(path, default_split)[0]


def load_documents(paths: list[str | Path]) -> list[Document]:
    """Documents from files or folders, exactly as `qa ingest` reads them."""
    return [load(f) for f in expand_paths([str(p) for p in paths])]


# --- seed -----------------------------------------------------------------------------------------
def seed_dataset() -> list[Example]:
    """The hand-written questions on the seed article (evals/data/seed.jsonl). A line without a "split"
    field is `tune`: the pipeline was developed against these questions."""
    return load_jsonl(SEED_FILE, "tune")


def seed_documents() -> list[Document]:
    return load_documents([SEED_DOCS])


# --- ClapNQ ---------------------------------------------------------------------------------------
def clapnq_path(path: str | Path | None = None) -> Path:
    folder = Path(path or os.environ.get(CLAPNQ_ENV) or CLAPNQ_DEFAULT)
    missing = [name for name in CLAPNQ_FILES if not (folder / name).is_file()]
    if missing:
        raise PathNotFound(
            f"ClapNQ dev files not found in {folder} (missing {', '.join(missing)}). "
            f"Pass the folder with --docs or set {CLAPNQ_ENV} (default: the copy in {CLAPNQ_DEFAULT}); the files "
            "come from https://github.com/primeqa/clapnq (annotated_data/dev)."
        )
    return folder


def _clapnq_source(title: str, text: str) -> str:
    return f"clapnq/{title}#{content_hash(text, length=10)}"


def _read_rows(file: Path) -> list[dict]:
    return [row for _, row in json_lines(file, "Re-download the ClapNQ file.")]


def _seeded_subset(pools: dict[bool, list[Example]], n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)
    want = {True: (n + 1) // 2, False: n // 2}
    examples: list[Example] = []
    for answerable in (True, False):
        pool = sorted(pools[answerable], key=lambda e: e.id)
        examples += rng.sample(pool, min(want[answerable], len(pool)))
    return examples


def clapnq(path: str | Path | None = None, limit: int | None = CLAPNQ_LIMIT, all: bool = False,
           seed: int = CLAPNQ_SEED) -> tuple[list[Example], list[Document]]:
    """ClapNQ dev: examples (a fixed, seeded subset, half answerable and half unanswerable, unless `all`)
    and the documents for ALL pooled dev passages (deduplicated), so every question searches the same pool.

    Every example's `split` is `test` when it is in the default subset (`CLAPNQ_LIMIT` questions drawn
    with `CLAPNQ_SEED`, whatever `limit` and `seed` say), `tune` otherwise (evals/splits.py)."""
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
    test = {e.id for e in _seeded_subset(pools, CLAPNQ_LIMIT, CLAPNQ_SEED)}
    for answerable in (True, False):
        pools[answerable] = [replace(e, split="test" if e.id in test else "tune") for e in pools[answerable]]
    if all:
        examples = pools[True] + pools[False]
    else:
        n = CLAPNQ_LIMIT if limit is None else limit
        if n < 1:
            raise InvalidInput(f"--limit must be a positive number of questions, got {n}.")
        examples = _seeded_subset(pools, n, seed)
    return examples, list(documents.values())


# --- MuSiQue --------------------------------------------------------------------------------------
def _musique_source(title: str, text: str) -> str:
    return f"musique/{title}#{content_hash(text, length=10)}"


def _read_json(file: Path, what: str):
    if not file.is_file():
        raise PathNotFound(f"{what} not found: {file}. It is part of the repository (evals/data/README.md); "
                           "restore it with `git checkout -- evals/data`.")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{file}: not valid JSON ({exc.msg}). Restore it with `git checkout -- evals/data`.") from None


def musique() -> tuple[list[Example], list[Document]]:
    """The MuSiQue sample (evals/data/musique): 100 answerable multi-hop questions and, as documents, ALL
    1,890 corpus paragraphs (each one Document), so every question searches the same pool.

    answers = the answer and its aliases; gold_sources = the supporting paragraphs; evidence = the
    sentences of the supporting paragraphs (exact substrings of those documents). Split: hash_split."""
    corpus = _read_json(MUSIQUE_CORPUS, "MuSiQue corpus")
    documents: dict[str, Document] = {}
    for p in corpus:
        text, title = p["text"], p.get("title", "")
        source = _musique_source(title, text)
        documents.setdefault(source, Document(text=text, source=source, title=title))
    examples: list[Example] = []
    for row in _read_json(MUSIQUE_QUESTIONS, "MuSiQue questions"):
        supporting = [p for p in row["paragraphs"] if p.get("is_supporting")]
        sources = list(dict.fromkeys(_musique_source(p.get("title", ""), p["paragraph_text"]) for p in supporting))
        missing = [s for s in sources if s not in documents]
        if missing:
            raise InvalidInput(f"{MUSIQUE_QUESTIONS}: question {row['id']} cites paragraphs missing from "
                               f"{MUSIQUE_CORPUS.name}: {missing[:2]}. Restore evals/data/musique.")
        evidence = list(dict.fromkeys(s for src in sources for s in split_sentences(documents[src].text)))
        answers = list(dict.fromkeys(a.strip() for a in [row["answer"], *row.get("answer_aliases", [])] if a.strip()))
        examples.append(Example(id=str(row["id"]), question=row["question"].strip(), answers=answers,
                                answerable=True, evidence=evidence, gold_sources=sources,
                                split=hash_split("musique", str(row["id"]))))
    return examples, list(documents.values())


MUSIQUE_COMPARE = MUSIQUE_DIR / "compare.jsonl"


def compare_dataset() -> list[Example]:
    """Comparison and yes/no questions between two things of the MuSiQue paragraphs (evals/data/musique/
    compare.jsonl, written for groundqa: which was formed/born/released first, is X older than Y, are X and Y
    both Z), plus comparisons with one side absent from the paragraphs (answerable: false). The answer is the
    winning side or Yes/No; evidence = one sentence per side. Split: hash_split("compare", id)."""
    return load_jsonl(MUSIQUE_COMPARE, lambda item_id: hash_split("compare", item_id))


# --- docs (Starlette documentation) ---------------------------------------------------------------
def docs_dataset() -> list[Example]:
    """Development questions on the Starlette docs (evals/data/docs/questions.jsonl). Each line carries
    its split; a line without one falls back to hash_split("docs", id)."""
    return load_jsonl(DOCS_QUESTIONS, lambda item_id: hash_split("docs", item_id))


def docs_documents() -> list[Document]:
    """The Starlette documentation, the .md files exactly as `qa ingest` reads them; each source is the file's
    path relative to the repository (what the questions' gold_sources name), the same on every machine."""
    return [load(f, source=Path(f).resolve().relative_to(ROOT).as_posix())
            for f in expand_paths([str(DOCS_DOCUMENTS)])]
