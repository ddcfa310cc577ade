"""Sources that disagree on the asked fact: say so and cite both, instead of picking one.

Two sentences disagree on a question (`conflict`) when both answer it -- each alone gives a short answer of the
kind the question asks for (qa/short_answer.py) -- the two answers differ, and

- for a yes/no question: one says "Yes", the other "No";
- otherwise: neither supports the other (`relations.check`) and one tells the other's event otherwise
  (`relations.contradiction`: the same verb with the same named doer, but negated, with another object, or
  another number) -- two sentences about different events (different doers, different verbs) never conflict.

The candidates (`Grounder.disagreement`) are the sentences that mention every name of the question (spaCy
NER; a question naming nothing is never a disagreement) and answer it nearly as well as the best one
(`DisagreementParams.ratio` of its match), from different documents: a document's own nuances ("voted
against" ... "abstained from the final vote") are not sources disagreeing. The unit is `disagreement` in
qa/decisions.py (`qa eval --without disagreement`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from index.linguistics import Annotator, default_annotator
from qa import relations
from qa.short_answer import short_answer

LEAD = "Sources disagree:"


@dataclass(frozen=True)
class DisagreementParams:
    ratio: float = 0.8  # a candidate answers the question at least this share of the best sentence's match
    candidates: int = 4  # at most this many of the best sentences are compared


PARAMS = DisagreementParams()


def _norm(text: str) -> str:
    return " ".join(relations.key(w) for w in text.lower().replace(",", " ").split())


def conflict(question: str, a: str, b: str, annotator: Annotator | None = None) -> bool:
    """Whether sentences `a` and `b` give the question different answers (see the module docstring)."""
    annotator = annotator or default_annotator()
    sa, sb = short_answer(question, [a], annotator), short_answer(question, [b], annotator)
    if not sa or not sb or _norm(sa) == _norm(sb):
        return False
    if {sa, sb} == {"Yes", "No"}:
        return True
    ann_a, ann_b = annotator.annotate_many([a, b])
    if relations.check(ann_a, [ann_b])[0] or relations.check(ann_b, [ann_a])[0]:
        return False  # one says what the other says
    return bool(relations.contradiction(ann_a, [ann_b]) or relations.contradiction(ann_b, [ann_a]))


def first_conflict(question: str, ranked: Sequence[tuple[str, str]], annotator: Annotator | None = None,
                   params: DisagreementParams = PARAMS) -> tuple[int, int] | None:
    """Among sentences (doc id, text), best first: the first pair from two documents that conflicts."""
    ranked = list(ranked)[: params.candidates]
    if len({doc for doc, _ in ranked}) < 2:
        return None
    for i, (doc_i, text_i) in enumerate(ranked):
        for j in range(i + 1, len(ranked)):
            doc_j, text_j = ranked[j]
            if doc_i != doc_j and conflict(question, text_i, text_j, annotator):
                return i, j
    return None
