"""The conversation eval (evals/conversations.py, evals/data/conversations.jsonl): the scorer checked by hand with a
fake service, the data file's shape, and two seed conversations through the real service."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

import pytest

from evals.conversations import (
    CONVERSATIONS_FILE, ask_conversations, load_conversations, parse_conversation, run_conversations,
    score_conversations, write_conversations_report,
)
from evals.datasets import docs_documents, seed_documents
from evals.metrics import contains
from qa.answers import Answer, Citation
from qa.errors import InvalidInput

DOC = "The US voted against the resolution. The US abstained on its own resolution. Macron met Trump."


# --- a fake service: the scorer's only contact with the service is conversation(), ask(), delete_conversation()
def _answer(question: str, text: str | None) -> Answer:
    """`text` is a sentence of DOC (cited with its exact offsets), or None for a refusal."""
    if text is None:
        return Answer(question=question, answer="I can't answer that from the documents.", refused=True, citations=[],
                      generator="fake", timings_ms={}, refusal_reason="not_answerable")
    start = DOC.index(text)
    cite = Citation(n=1, source="doc.txt", chunk_id="c1", quote=text, start=start, end=start + len(text))
    return Answer(question=question, answer=f"{text} [1]", refused=False, citations=[cite], generator="fake",
                  timings_ms={})


@dataclass
class FakeTurn:
    method: str


@dataclass
class FakeConversation:
    service: "FakeService"
    id: str
    turns: list = field(default_factory=list)

    def ask(self, text: str, generator=None, top_k=None) -> Answer:
        standalone = self.service.rewrites.get(text, text)
        a = self.service.ask(standalone, "eval", top_k=top_k, generator=generator)
        a.question, a.standalone_question = text, standalone
        self.turns.append(FakeTurn("unchanged" if standalone == text else "deterministic"))
        return a


class FakeService:
    def __init__(self, rewrites: dict[str, str], replies: dict[str, str | None]):
        self.rewrites, self.replies = rewrites, replies
        self.opened: list[tuple[str, str | None]] = []
        self.deleted: list[str] = []
        self.asked: list[str] = []

    def conversation(self, id=None, *, collection=None, generator=None) -> FakeConversation:
        self.opened.append((collection, generator))
        return FakeConversation(self, f"conv{len(self.opened)}")

    def ask(self, question, collection=None, *, top_k=None, generator=None) -> Answer:
        self.asked.append(question)
        return _answer(question, self.replies.get(question))

    def delete_conversation(self, id: str) -> None:
        self.deleted.append(id)


AGAINST, ABSTAINED, MET = DOC.split(". ")[0] + ".", DOC.split(". ")[1] + ".", "Macron met Trump."
ITEMS = [
    parse_conversation({"id": "c1", "corpus": "seed", "split": "test", "turns": [
        {"question": "How did the US vote?", "answers": ["against"], "answerable": True, "evidence": [AGAINST]},
        {"question": "And on its own resolution?", "standalone": "How did the US vote on its own resolution?",
         "answers": ["abstained"], "answerable": True, "evidence": [ABSTAINED]},
        {"question": "How did China vote on it?", "standalone": "How did China vote on the resolution?",
         "answers": [], "answerable": False, "evidence": []}]}, "c1"),
    parse_conversation({"id": "c2", "corpus": "seed", "split": "test", "turns": [
        {"question": "Who met Trump?", "answers": ["Macron"], "answerable": True, "evidence": [MET]},
        {"question": "And how did he vote?", "standalone": "How did the US vote on its own resolution?",
         "answers": ["abstained"], "answerable": True, "evidence": [ABSTAINED]},
        {"question": "What did Putin say?", "standalone": "What did Putin say about the resolution?",
         "answers": [], "answerable": False, "evidence": []}]}, "c2"),
]
REWRITES = {"And on its own resolution?": "How did the US vote on its own resolution?",
            "How did China vote on it?": "How did China vote on the resolution?"}
REPLIES = {"How did the US vote?": AGAINST, "How did the US vote on its own resolution?": ABSTAINED,
           "Who met Trump?": MET,
           "And how did he vote?": AGAINST,  # not rewritten: the wrong vote, cited from the wrong sentence
           "What did Putin say?": MET, "What did Putin say about the resolution?": None}


@pytest.mark.unit
def test_scorer_compares_follow_ups_in_context_with_the_same_questions_asked_standalone(tmp_path):
    service = FakeService(REWRITES, REPLIES)
    results = ask_conversations(service, ITEMS, {"seed": "eval-seed"}, generator="extractive", top_k=4)
    # one conversation per item, over its corpus's collection, deleted afterwards; turns asked in order
    assert service.opened == [("eval-seed", "extractive"), ("eval-seed", "extractive")]
    assert service.deleted == ["conv1", "conv2"]
    assert [(r.conversation, r.n) for r in results] == [("c1", 1), ("c1", 2), ("c1", 3), ("c2", 1), ("c2", 2), ("c2", 3)]
    assert results[1].standalone_question == "How did the US vote on its own resolution?"
    assert results[0].standalone_answer is None  # a first turn is not asked twice
    assert results[4].standalone_answer["answer"].startswith(ABSTAINED)

    m = score_conversations(ITEMS, results, {"doc.txt": DOC})
    h = m.headline
    assert h["first_turn_contains"] == 1.0
    # answerable follow-ups: c1#2 right in context, c2#2 wrong in context (not rewritten); both right standalone
    assert h["follow_up_contains"] == 0.5 and h["standalone_contains"] == 1.0
    assert h["follow_up_ratio"] == 0.5
    # unanswerable follow-ups: c1#3 refused, c2#3 answered in context; both refused standalone
    assert h["follow_up_refusal"] == 0.5 and h["standalone_refusal"] == 1.0
    assert h["follow_up_false_refusal"] == 0.0
    assert m.methods == {"deterministic": 2, "unchanged": 2}
    # citations judged against the evidence: 4 answered answerable turns; c2#2 cites the wrong sentence
    assert m.groups["all"]["citation_precision"].score == pytest.approx(3 / 4)
    assert m.groups["all"]["quote_exact"].score == 1.0
    assert m.groups["follow_up_standalone"]["rewrite_recall"].per_question["c1#2"] == 1.0
    assert m.groups["follow_up_standalone"]["rewrite_recall"].per_question["c2#2"] < 0.5
    rows = {r["id"]: r for r in m.rows}
    assert rows["c2#2"]["correct"] == 0.0 and rows["c2#2"]["standalone_correct"] == 1.0
    assert rows["c2#3"]["refused"] is False and rows["c2#3"]["standalone_refused"] is True

    paths = write_conversations_report(
        type("Run", (), {"split": "test", "generator": "extractive", "started": "", "seconds": 1.0,
                         "collections": {"seed": "eval-seed"}, "counts": {"conversations": 2}, "metrics": m})(),
        tmp_path / "run")
    saved = json.loads(paths[0].read_text())
    assert saved["headline"]["follow_up_ratio"] == 0.5 and saved["rewrite_methods"]["deterministic"] == 2
    assert len(paths[1].read_text().splitlines()) == 6
    report = paths[2].read_text()
    assert "**c2#2**" in report and "**c2#3**" in report and "**c1#2**" not in report  # the failures, listed


@pytest.mark.unit
def test_parse_conversation_rejects_bad_lines_with_a_fix():
    good = {"id": "x", "corpus": "seed", "split": "tune",
            "turns": [{"question": "Q?", "answers": ["a"], "answerable": True, "evidence": []}]}
    assert parse_conversation(good, "w").turns[0].example.id == "x#1"
    with pytest.raises(InvalidInput, match="corpus"):
        parse_conversation({**good, "corpus": "wiki"}, "w")
    with pytest.raises(InvalidInput, match="split"):
        parse_conversation({**good, "split": "dev"}, "w")
    with pytest.raises(InvalidInput, match="turns"):
        parse_conversation({**good, "turns": []}, "w")
    with pytest.raises(InvalidInput, match="reference answer"):
        parse_conversation({**good, "turns": [{"question": "Q?", "answers": [], "answerable": True}]}, "w")
    with pytest.raises(InvalidInput, match="standalone"):
        parse_conversation({**good, "turns": [{"question": "Q?", "answers": ["a"], "answerable": True,
                                               "standalone": " "}]}, "w")


# --- the data file -------------------------------------------------------------------------------------
@pytest.mark.unit
def test_conversations_file_shape_splits_and_exact_evidence():
    items = load_conversations(split="all")
    assert len(items) >= 40
    assert all(2 <= len(c.turns) <= 3 for c in items)
    corpora = {"seed": seed_documents(), "docs": docs_documents()}
    texts = {k: [d.text for d in docs] for k, docs in corpora.items()}
    follow_ups = [t for c in items for t in c.turns[1:]]
    for c in items:
        assert c.turns[0].standalone is None, c.id  # first turns stand alone
        for t in c.turns:
            ex = t.example
            if ex.answerable:
                assert ex.evidence, ex.id
                for ev in ex.evidence:  # every evidence is an exact substring of the conversation's corpus
                    assert any(ev in text for text in texts[c.corpus]), (ex.id, ev)
                # the evidence states the answer: some reference answer appears in it (normalised, as scored)
                assert any(contains(" ".join(ex.evidence), a) for a in ex.answers), ex.id
            else:
                assert not ex.evidence and not ex.answers, ex.id
        for t in c.turns[1:]:
            assert t.standalone and t.standalone != t.example.question, t.example.id
    unanswerable = sum(not t.example.answerable for t in follow_ups)
    assert 0.15 <= unanswerable / len(follow_ups) <= 0.35  # about a fifth of the follow-ups
    # splits: explicit, per corpus the first half by SHA-256 of "conversations:ID" is tune
    for corpus in ("seed", "docs"):
        ids = sorted((c.id for c in items if c.corpus == corpus),
                     key=lambda i: hashlib.sha256(f"conversations:{i}".encode()).hexdigest())
        tune = set(ids[: (len(ids) + 1) // 2])
        assert {c.id: c.split for c in items if c.corpus == corpus} == {i: "tune" if i in tune else "test" for i in ids}
    counts = Counter((c.corpus, c.split) for c in items)
    assert all(counts[(k, s)] >= 10 for k in ("seed", "docs") for s in ("tune", "test")), counts
    assert {c.id for c in load_conversations(split="test")} == {c.id for c in items if c.split == "test"}
    assert len({c.id for c in items}) == len(items)
    assert CONVERSATIONS_FILE.read_text(encoding="utf-8").count("\n") == len(items)


# --- the real thing --------------------------------------------------------------------------------------
@pytest.mark.integration
def test_two_seed_conversations_with_the_extractive_generator(real_service):
    items = [c for c in load_conversations(split="all") if c.id in ("cs01", "cs12")]
    before = {c.id for c in real_service.conversations()}
    run = run_conversations(real_service, "all", "extractive", progress=False, items=items)
    assert len(run.results) == 5 and run.collections["seed"].startswith("eval-seed-")
    assert {c.id for c in real_service.conversations()} == before  # the eval's conversations are deleted
    rows = {r["id"]: r for r in run.metrics.rows}
    assert rows["cs01#1"]["correct"] == 1.0 and rows["cs01#1"]["searched_for"] == rows["cs01#1"]["question"]
    # "And on its own resolution?" is resolved against the first turn and answered: abstain
    assert rows["cs01#2"]["searched_for"] != "And on its own resolution?"
    assert "resolution" in rows["cs01#2"]["searched_for"] and rows["cs01#2"]["method"] != "unchanged"
    assert rows["cs01#2"]["correct"] == 1.0
    assert rows["cs01#3"]["refused"] is True  # how China voted is not in the article
    assert rows["cs01#2"]["standalone_correct"] == 1.0  # the written standalone question, asked alone
    assert run.metrics.headline["quote_exact"] == 1.0
    assert sum(run.metrics.methods.values()) == 3  # every follow-up's rewrite method is counted
