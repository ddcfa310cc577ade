"""Fakes for unit tests of pure logic. They plug in through the real mechanisms, never by patching:
the Embedder and Generator protocols, the generator registry (`register_generator`, as third-party
generators do: importing this module registers "first-sentence"), `qa.open(generators=..., store=...)`.
For a store, use the real index.memory_store.InMemoryStore (it passes the Store contract)."""

from __future__ import annotations

import hashlib
import math
from typing import Callable, Iterator, Sequence

from qa.answers import Passage
from qa.generators import register_generator
from qa.terms import content_terms


class HashEmbedder:
    """Bag of stemmed content words hashed into `dim` buckets, normalised: texts sharing words are close."""

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.calls = 0
        self.texts_embedded = 0

    @property
    def fingerprint(self) -> str:
        return f"hash-{self.dim}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = []
        for text in texts:
            v = [0.0] * self.dim
            for term in content_terms(text):
                v[int(hashlib.md5(term.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = math.sqrt(sum(x * x for x in v)) or 1.0
            out.append([x / norm for x in v])
        return out


class ScriptedGenerator:
    """Answers with whatever `script(question, passages)` returns, streamed word by word."""

    def __init__(self, script: Callable[[str, Sequence[Passage]], str], name: str = "scripted"):
        self.script = script
        self.name = name
        self.seen: list[tuple[str, list[Passage]]] = []

    def load(self) -> None:
        return None  # nothing to load

    def ping(self) -> None:
        return None  # nothing outside the process

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        self.seen.append((question, list(passages)))
        text = self.script(question, passages)
        for i, word in enumerate(text.split(" ")):
            yield word if i == 0 else " " + word


def first_sentence(question: str, passages: Sequence[Passage]) -> str:
    """The first sentence of the top passage, cited: always supported, whatever the question."""
    if not passages:
        return ""
    text = passages[0].text.strip()
    end = next((i + 1 for i, ch in enumerate(text) if ch in ".!?"), len(text))
    return f"{text[:end]} [{passages[0].n}]"


register_generator("first-sentence", lambda config, grounder: ScriptedGenerator(first_sentence, name="first-sentence"))
