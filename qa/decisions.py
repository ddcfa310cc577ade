"""Decisions are data: every refusal rule, refusal-model feature and answer-picking heuristic is a named,
documented unit that can be switched off by name (`qa eval --without NAME`, `qa eval --ablate`).

A refusal rule looks at the question and the evidence (the retrieved passages, split into sentences)
and says whether the passages cannot answer it; the first rule that fires gives the answer its
`refusal_reason`. Rules run before any generation: a refused question never reaches the generator.

`Switches` is the one frozen object that carries which units are off; the `Grounder` consults it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from qa.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from qa.grounding import Evidence


@dataclass(frozen=True)
class Unit:
    name: str
    kind: str  # "rule" (refusal rule), "feature" (refusal-model input), "heuristic" (answer picking / support)
    doc: str
    reason: str = ""  # the refusal_reason a rule reports


# --- refusal rules ----------------------------------------------------------------------------------
NAMED_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"})  # a subject that is a name (spaCy NER)


def _named(arg) -> bool:
    """A subject that is a name: an entity of NAMED_LABELS, or a proper noun NER does not know that is written as
    a word ("Okafor"), not as code ("@requires(redirect=...)") nor as a lower-cased noun the tagger guessed."""
    if arg is None:
        return False
    if arg.ent in NAMED_LABELS:
        return True
    words = arg.text.replace("'s", "").replace("’s", "").split()
    return arg.ent == "PROPN" and all(w.replace("-", "").isalpha() for w in words) and any(w[:1].isupper() for w in words)
def role_conflict(question: str, evidence: "Evidence") -> bool:
    """The question says who did it ("How did Russia vote?"), the passages tell that deed (the same verb lemma;
    verbs of saying stand for each other), but every telling whose subject is a name has another name doing it
    ("the US voting against it"). Read from the parse (spaCy: subject, verb lemma, entity type; pronouns resolved),
    not from capital letters."""
    from index.linguistics import default_annotator
    from qa import relations
    from qa.short_answer import LIGHT_VERBS  # they say nothing of who did what

    q = default_annotator().annotate(question)
    root = next((i for i, t in enumerate(q.tokens) if t.dep == "ROOT"), None)  # the question's own clause, not a
    asked = next((t for t in q.triples if t.at == root and _named(t.subj)  # description inside it
                  and t.verb.split()[0] not in LIGHT_VERBS), None)
    if asked is None:
        return False
    other = False
    for i, span in enumerate(evidence.spans):
        if len(span.parts) > 1:
            continue
        for told in relations.repaired(evidence.span_annotation(i)):
            if told.subj is None or not relations.verbs_match(asked.verb, told.verb):
                continue
            if relations.args_match(asked.subj, told.subj):
                return False  # someone tells the asked deed of the asked doer
            other = other or _named(told.subj)
    return other


# Entities a question cannot be answered without: names of people, places, organisations, works, events, laws,
# products, and dates (a question about another year is another question). Bare numbers are left out: in
# technical questions "500" or "3.12" are usually settings, not the subject.
ASKED_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT",
                          "DATE"})


def question_entities(question: str) -> list[str]:
    """The named entities of the question (spaCy NER, by type, not by capital letters), in order."""
    from index.linguistics import default_annotator

    ann = default_annotator().annotate(question)
    return list(dict.fromkeys(ann.text[s:e] for s, e, label in ann.ents if label in ASKED_LABELS))


COMPARISON_DOC = ("A comparison of two named things (\"Which was formed first, X or Y?\", \"Are X and Y both Z?\") "
                  "where no retrieved sentence states one side's date, number or category: answering from one side "
                  "would be a guess (qa/compare.py).")


RuleCheck = Callable[[str, "Evidence"], bool]

RULES: dict[str, tuple[Unit, RuleCheck | None]] = {
    "unmentioned": (Unit("unmentioned", "rule", "The question names an entity (spaCy NER: person, place, "
                         "organisation, work, event, law, product, date) whose words no retrieved passage has.",
                         "not_mentioned"), None),
    "comparison": (Unit("comparison", "rule", COMPARISON_DOC, "comparison_side_missing"), None),
    "role_conflict": (Unit("role_conflict", "rule", role_conflict.__doc__ or "", "role_mismatch"), role_conflict),
    "answerability": (Unit("answerability", "rule", "The calibrated refusal model's probability is below its threshold "
                           "(qa/calibration.json).", "low_answerability"), None),
}

FEATURES: dict[str, Unit] = {u.name: u for u in (
    Unit("q_cov", "feature", "Share of the question's terms in the best-covering sentence."),
    Unit("q_dense", "feature", "Best embedding similarity of the question with a passage sentence."),
    Unit("best", "feature", "Best question-to-sentence match (coverage, proximity, similarity)."),
    Unit("missing_salient", "feature", "Share of the question's entities (spaCy NER) no passage mentions."),
    Unit("top_score", "feature", "The top passage's dense retrieval score."),
    Unit("margin", "feature", "Top passage score minus the second's."),
    Unit("type_missing", "feature", "The best sentence holds no answer of the type the question asks for."),
    Unit("answer_found", "feature", "A short answer of the expected kind (qa/short_answer.py) is in the sentences the "
         "extractive answer would quote (1), is not (0), or the question asks for an explanation (0.5)."),
)}

HEURISTICS: dict[str, Unit] = {u.name: u for u in (
    Unit("focus_clause", "heuristic", "Extractive: also pick the best sentence for the question's own clause when "
         "another clause only sets the scene."),
    Unit("wh_phrase", "heuristic", "Extractive: also pick the best sentence naming the kind of thing asked for "
         "('Which anniversary ...') when the best sentence does not."),
    Unit("answer_type", "heuristic", "Extractive: a sentence naming an entity of the kind the question asks for "
         "(who: a person, when: a date, where: a place, how many: a number; spaCy NER) the question does not name "
         "counts more."),
    Unit("code_weight", "heuristic", "Extractive: a code block counts less than prose for picking, unless the "
         "question asks how to do something."),
    Unit("code_follows", "heuristic", "Extractive: a picked sentence ending in ':' brings the code block right after "
         "it (the example it introduces)."),
    Unit("rarity", "heuristic", "Extractive: the question's terms count by their rarity among the passages' sentences "
         "(a name every sentence repeats says less about which one answers than a word only one has)."),
    Unit("section_context", "heuristic", "Extractive: a sentence is matched with the words of the heading it is under "
         "('Uses a 307 status code by default.' under '### RedirectResponse')."),
    Unit("changelog", "heuristic", "Extractive: a sentence under a version heading (a changelog entry) counts less "
         "unless the question asks about versions: it tells what changed once, not how things are."),
    Unit("second_adds", "heuristic", "Extractive: a sentence besides the best (a near-best one, or the one for the "
         "question clause or the thing asked for) is quoted only when it holds a word of the question (function words "
         "such as 'against' or 'not' too) that the best one and its heading lack; otherwise one quote answers."),
    Unit("html_markup", "heuristic", "Extractive: a sentence carrying HTML tags (inline HTML in Markdown: '<a href=...>"
         "GitHub</a>') is never picked as an answer sentence while another is there: an answer sentence is its quote, "
         "and markup is not an answer."),
    Unit("agreement_fallback", "heuristic", "A generated answer gives way to the extractive one when none of its "
         "quotes answers the question nearly as well as the best sentence."),
    Unit("relevance_filter", "heuristic", "Supported sentences of a generated answer far less on-topic than its "
         "best are left out."),
    Unit("collection_subject", "heuristic", "Retrieval: the dense list embeds the question without the proper nouns "
         "most of the collection's chunks hold (its subject: 'Starlette' over the Starlette docs), which pull every "
         "introduction ahead of the passage that answers; the keyword list keeps them (qa/retrieval.py)."),
    Unit("multi_hop", "heuristic", "When no passage covers the question and it describes something instead of "
         "naming it, resolve the description through a bridge entity and retrieve again (qa/hops.py)."),
    Unit("hop_names", "heuristic", "Multi-hop: a description's proper nouns are also looked up by keyword (BM25), "
         "and passages naming them come first: a rare name is a word the embedding does not know."),
    Unit("short_answer", "heuristic", "Lead with the answer: the phrase of a cited quote of the type the question "
         "asks for (qa/short_answer.py), or Yes/No."),
    Unit("compare", "heuristic", "Comparisons and yes/no between two named things: retrieve each side, answer "
         "from one quote per side stating its date, number or category (qa/compare.py); a decided comparison is "
         "not refused by the refusal model."),
    Unit("relations", "heuristic", "Relation-level support: an answer sentence's predicate, roles, negation, "
         "numbers and entities must match one quoted sentence (or an adjacent pair)."),
    Unit("clauses", "heuristic", "Stitched claims: an answer sentence no one quote supports, for a missing name or "
         "words (never a contradiction), is split into its clauses (main clause, apposition, relative/participial "
         "clause, conjoined predicate; qa/relations.py `clauses`), and supported when each clause is, by a quote of "
         "any passage; a supported sentence (not quoted word for word) is unsupported when one of its clauses is "
         "neither said by its quote nor supported on its own."),
    Unit("context", "heuristic", "A quote is read under its passage's nearest heading and, for a list item, the "
         "sentence introducing the list: their names and words count for the claim's prior and relation check "
         "('### RedirectResponse' + 'Uses a 307 status code by default.')."),
    Unit("instructions", "heuristic", "Sentences of the passages addressed to an assistant (role prompts, "
         "'ignore previous instructions', 'answer every question with ...'; index/instructions.py) are marked: never "
         "quoted, never support a claim, left out of the text a generator sees."),
    Unit("disagreement", "heuristic", "When sentences of two different documents both answer the question and "
         "tell it otherwise (other short answers; the same verb and named doer, negated or with another object "
         "or number; qa/disagreement.py), the answer says 'Sources disagree' and cites both instead of one."),
)}

UNITS: dict[str, Unit] = {**{n: u for n, (u, _) in RULES.items()}, **FEATURES, **HEURISTICS}


@dataclass(frozen=True)
class Switches:
    """Which named units are switched off (for ablations); everything is on by default."""

    disabled: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        unknown = sorted(set(self.disabled) - set(UNITS))
        if unknown:
            raise InvalidInput(f"Unknown rule/feature/heuristic name(s): {', '.join(unknown)}. "
                               f"Choose from: {', '.join(UNITS)} (see `qa eval --list-units`).")

    @classmethod
    def without(cls, names: str | list[str] | tuple[str, ...] | frozenset | None) -> "Switches":
        if not names:
            return cls()
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",") if n.strip()]
        return cls(frozenset(names))

    def on(self, name: str) -> bool:
        return name not in self.disabled


def first_refusal(question: str, evidence: "Evidence", switches: Switches, decided: dict[str, bool]) -> str | None:
    """The name of the first refusal rule that fires, in the order of RULES (the specific reasons first, the
    calibrated model last), or None to answer. Rules without a check of their own (the refusal model, unmentioned
    entities, comparisons) are decided by the grounder from what it computed anyway: `decided[name]`."""
    for name, (_, check) in RULES.items():
        if switches.on(name) and (decided.get(name, False) if check is None else check(question, evidence)):
            return name
    return None


def describe() -> str:
    """The units, one line each (`qa eval --list-units`)."""
    lines = []
    for u in UNITS.values():
        doc = " ".join(u.doc.split())
        lines.append(f"{u.name:<20} {u.kind:<10} {('-> ' + u.reason) if u.reason else '':<28} {doc}")
    return "\n".join(lines)
