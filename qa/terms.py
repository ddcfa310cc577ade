"""Content words of questions, answers and evidence: lower-cased, light-stemmed, stopwords out."""

from __future__ import annotations

import re
import unicodedata
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


def fold(text: str) -> str:
    """Letters without their accents ("Aschenbrödel" -> "Aschenbrodel", "Akinoshū" -> "Akinoshu"): names are
    often written both ways, and the word pattern reads only unaccented letters."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return [m.group().replace("’", "'") for m in _WORD.finditer(fold(text))]


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


# Names that mean the same country in news and reference text: the country, its abbreviations, its
# demonym/adjective, and the capital or seat of government used for its government ("Washington said",
# "the Kremlin"). General world knowledge, the same for any document set; each maps to one canonical term,
# so "American", "America", "United States" and "US" all match each other (questions and evidence alike).
_COUNTRIES = {
    "us": "US USA America American Americans Washington",
    "uk": "UK Britain British Briton Britons",
    "france": "France French Frenchman",
    "russia": "Russia Russian Russians Moscow Kremlin",
    "ukraine": "Ukraine Ukrainian Ukrainians Kyiv Kiev",
    "china": "China Chinese Beijing",
    "germany": "Germany German Germans",
    "italy": "Italy Italian Italians",
    "spain": "Spain Spanish Spaniard",
    "japan": "Japan Japanese",
    "canada": "Canada Canadian Canadians",
    "mexico": "Mexico Mexican Mexicans",
    "india": "India Indian Indians",
    "israel": "Israel Israeli Israelis",
    "iran": "Iran Iranian Iranians Tehran",
    "turkey": "Turkey Turkish",
    "poland": "Poland Poles",
    "netherlands": "Netherlands Dutch",
    "sweden": "Sweden Swedish Swedes",
    "australia": "Australia Australian Australians",
    "europe": "Europe European Europeans",
    "north korea": "Pyongyang",
}
# Several-word names, rewritten to one canonical word before tokenising.
_PHRASES = [
    (re.compile(r"\bUnited States(?: of America)?\b|\bU\.S\.(?:A\.)?|\bWhite House\b"), "US"),
    (re.compile(r"\bUnited Kingdom\b|\bGreat Britain\b|\bU\.K\.|\bDowning Street\b"), "UK"),
    (re.compile(r"\bÉlysée(?: Palace)?\b|\bElysee(?: Palace)?\b"), "France"),
]


def normalize(text: str) -> str:
    """Several-word country names and seats of government as one word ("White House" -> "US")."""
    for pattern, canonical in _PHRASES:
        text = pattern.sub(canonical, text)
    return text


def _is_stopword(w: str) -> bool:
    # An acronym ("US", "UN") is a name, not the pronoun "us".
    # "What's", "Where's", "it's": the contraction's first word decides.
    lw = w.lower().replace("’", "'").removesuffix("'s")
    return (lw in STOPWORDS or lw in QUESTION_WORDS) and not (w.isupper() and len(w) > 1)


_ALIASES = {stem(w): canonical for canonical, names in _COUNTRIES.items() for w in names.split()}


def term(word: str) -> str:
    """The word as a matching term: stemmed, and a country's other names mapped to one."""
    s = stem(word)
    return _ALIASES.get(s, s)


def content_words(text: str) -> list[tuple[str, str]]:
    """(word, term) for each content word of the text, in order."""
    return [(w, term(w)) for w in words(normalize(text)) if not _is_stopword(w)]


def content_terms(text: str) -> set[str]:
    return {t for _, t in content_words(text)}


def salient_terms(text: str) -> set[str]:
    """Names and numbers: capitalised words that are not stopwords, and digits.
    The terms a question cannot be answered without, and a claim cannot be true without."""
    return {t for w, t in content_words(text) if w[0].isdigit() or w[0].isupper()}


NEGATIONS = frozenset("not no never nor neither none nobody nothing cannot without".split())


def negated(text: str) -> bool:
    """Whether the text contains a negation ("not", "never", "didn't", ...)."""
    return any(w.lower() in NEGATIONS or w.lower().endswith("n't") or w.lower().endswith("n’t") for w in words(text))


def proximity(terms: set[str], text: str) -> float:
    """How close together the given terms occur in `text`: matched terms divided by the length (in
    content words) of the shortest window holding all of them; 0 when none occur."""
    positions = [(i, t) for i, (_, t) in enumerate(content_words(text)) if t in terms]
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
    ("place", re.compile(r"^(in|at|near) (which|what) (city|country|town|state|place|village|region|province|venue|"
                         r"building|location)\b")),
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
    if kind == "place":
        return has_place(text, question)
    asked = content_terms(question)
    return any(w[0].isupper() and not _is_stopword(w) and term(w) not in asked for w in words(normalize(text))[1:])


# --- function words the pickers leave out -------------------------------------------------------------
AUXILIARIES = frozenset("did does do will would can could has have had is are was were should must may might shall".split())
PRONOUNS = frozenset("he she they we i it you".split())
_PLACE = re.compile(r"\b(?:in|at|near|outside|inside)\s+(?:the\s+)?([A-Z][\w'’\-]*)")


def has_place(text: str, question: str = "") -> bool:
    """Whether the text says where: "in/at/near" followed by a name the question does not already have."""
    asked = content_terms(question)
    return any(not _is_stopword(m.group(1)) and term(m.group(1)) not in asked for m in _PLACE.finditer(normalize(text)))


_WH = re.compile(r"\b(?:which|what)\s+(?:(?:kind|kinds|type|types|sort|sorts)\s+of\s+)?(.*)", re.I)


def wh_phrase_terms(question: str) -> set[str]:
    """The words of the thing asked for after "which"/"what": "Which anniversary fell ..." -> {"anniversary"},
    "which foreign leader was ..." -> {"foreign", "leader"}; stops at a function word or a past-tense verb."""
    m = _WH.search(question)
    if not m:
        return set()
    out = set()
    for w in words(m.group(1))[:3]:
        if not w.islower() or _is_stopword(w) or w.endswith("ed") or w in _IRREGULAR:
            break
        out.add(term(w))
    return out


def focus_clause(question: str) -> str | None:
    """The clause holding the question word, when the question also has a clause that only sets the scene:
    "On the day the vote was held, which leader was in town?" -> "which leader was in town?"."""
    parts = [p.strip() for p in re.split(r"[,;]\s*", question) if p.strip()]
    if len(parts) < 2:
        return None
    wh = [p for p in parts if re.match(r"(?:and\s+)?(?:\w+\s+)?(?:what|which|who|whom|whose|when|where|why|how)\b", p, re.I)]
    return wh[0] if len(wh) == 1 else None
