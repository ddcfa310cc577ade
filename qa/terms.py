"""Content words of questions, answers and evidence: lower-cased, light-stemmed, stopwords out."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]|\d+(?:[.,]\d+)*")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can could did didn't do does doesn't doing don't down during each either else ever few for
from further had has have having he her here hers herself him himself his how however i if in into is isn't it
its itself just let like may me might more most much must my myself no nor not now of off often on once only or
other ought our ours ourselves out over own per please rather same shall she should so some such than that the
their theirs them themselves then there these they this those through thus to too under until up upon us very
was wasn't we were weren't what whatever when where whereas whether which while who whom whose why will with
within without would yet you your yours yourself yourselves
one ones thing things get got make made say said says tell told give given know known
answer question passage passages document documents according source sources based text article
""".split())

QUESTION_WORDS = frozenset("what when where which who whom whose why how name list describe explain".split())


def words(text: str) -> list[str]:
    return [m.group().replace("’", "'") for m in _WORD.finditer(text)]


_IRREGULAR = {
    "met": "meet", "began": "begin", "begun": "begin", "won": "win", "wrote": "writ", "written": "writ", "led": "lead",
    "held": "hold", "took": "tak", "taken": "tak", "found": "find", "built": "build", "sang": "sing", "sung": "sing",
    "ran": "run", "bought": "buy", "brought": "bring", "fought": "fight", "thought": "think", "became": "becom",
    "chose": "choos", "chosen": "choos", "spoke": "speak", "spoken": "speak", "went": "go", "gone": "go", "came": "com",
    "left": "leav", "sent": "send", "spent": "spend", "lost": "los", "fell": "fall", "rose": "ris", "risen": "ris",
    "grew": "grow", "grown": "grow", "saw": "see", "seen": "see", "drew": "draw", "drawn": "draw", "drove": "driv",
    "flew": "fly", "sold": "sell", "paid": "pay", "struck": "strik", "born": "bear", "died": "die", "dies": "die", "dying": "die", "going": "go",
}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    w = word.lower().replace("'s", "")
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.isdigit() or len(w) <= 3:
        return w
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + repl
            break
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # "running" -> "run"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]  # "vote" -> "vot", like "voted" and "voting"
    return w


def _is_stopword(w: str) -> bool:
    # An acronym ("US", "UN") is a name, not the pronoun "us".
    return (w.lower() in STOPWORDS or w.lower() in QUESTION_WORDS) and not (w.isupper() and len(w) > 1)


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if not _is_stopword(w)}


def salient_terms(text: str) -> set[str]:
    """Names and numbers: capitalised words that are not stopwords, and digits.
    The terms a question cannot be answered without, and a claim cannot be true without."""
    return {stem(w) for w in words(text) if not _is_stopword(w) and (w[0].isdigit() or w[0].isupper())}


NEGATIONS = frozenset("not no never nor neither none nobody nothing cannot without".split())


def negated(text: str) -> bool:
    """Whether the text contains a negation ("not", "never", "didn't", ...)."""
    return any(w.lower() in NEGATIONS or w.lower().endswith("n't") or w.lower().endswith("n’t") for w in words(text))


def proximity(terms: set[str], text: str) -> float:
    """How close together the given terms occur in `text`: matched terms divided by the length (in
    content words) of the shortest window holding all of them; 0 when none occur."""
    positions = [(i, t) for i, t in enumerate(stem(w) for w in words(text) if not _is_stopword(w)) if t in terms]
    wanted = {t for _, t in positions}
    if not wanted:
        return 0.0
    best = len(positions) + 1_000_000
    counts: dict[str, int] = {}
    left = 0
    for right, (pos, term) in enumerate(positions):
        counts[term] = counts.get(term, 0) + 1
        while len(counts) == len(wanted):
            best = min(best, pos - positions[left][0] + 1)
            lt = positions[left][1]
            counts[lt] -= 1
            if not counts[lt]:
                del counts[lt]
            left += 1
    return len(wanted) / best


_TIME = re.compile(r"\b(1\d{3}|20\d{2}|\d{1,2}(st|nd|rd|th)|january|february|march|april|may|june|july|august|september|"
                   r"october|november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|century|centuries|"
                   r"decades?|today|yesterday|tomorrow|(this|last|next|earlier this|later this) (week|month|year)|"
                   r"\d+ (days?|weeks?|months?|years?) (ago|later|earlier|after|before))\b", re.I)
_NUMBER = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
                     r"hundred|thousand|million|billion|dozen|several|many|few|half|percent)\b", re.I)
_TYPES = (
    ("time", re.compile(r"^((on|in|at|by) )?(when|what year|which year|what date|what day|which date|which day|what time|"
                        r"what century|what month)\b")),
    ("number", re.compile(r"^(how many|how much|how long|how old|how far|how big|how tall|how large|what percentage|"
                          r"what (is|was|were) the (number|count|vote count|total|population|percentage)|what number)\b")),
    ("name", re.compile(r"^((in|at|from|to|by|with) )?(who|whom|whose|where|which (country|city|town|state|team|company|"
                        r"person|player|band|leader|president))\b")),
)


def expected_type(question: str) -> str | None:
    """The kind of answer a question asks for, when its wording says: time, number or name."""
    q = question.strip().lower()
    return next((kind for kind, pattern in _TYPES if pattern.match(q)), None)


def has_type(text: str, kind: str, question: str = "") -> bool:
    """Whether `text` holds an answer of that kind (a name must be one the question does not already name)."""
    if kind == "time":
        return bool(_TIME.search(text))
    if kind == "number":
        return bool(_NUMBER.search(text))
    asked = content_terms(question)
    return any(w[0].isupper() and stem(w) not in asked and not _is_stopword(w) for w in words(text)[1:])
