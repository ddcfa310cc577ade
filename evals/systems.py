"""The systems an eval compares, each answering one example at a time with a `Prediction`.

- `bm25`, `dense`, `hybrid`: the service's retrievers on their own (retrieval only): BM25 over the
  keyword index, cosine nearest neighbours in Chroma, and both fused (what `groundqa` uses by default).
- `groundqa`: the configured service (`groundqa:local`, `groundqa:extractive` pick the generator).
- `llamaindex`: a plain llama-index `VectorStoreIndex` query engine over the same Chroma collection,
  with our embedding model and our local LLM (SmolLM2 through llama.cpp), as the peer baseline.
- `predictions`: answers another system produced, read from a JSONL file in our answer contract.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evals.datasets import Example, json_lines
from qa.answers import Passage
from qa.errors import GeneratorError, InvalidInput, PathNotFound

RETRIEVAL_DEPTH = 10  # retrieval-only systems return this many passages (for MRR@10)


@dataclass
class Prediction:
    example_id: str
    system: str
    answer: dict | None  # the answer JSON contract; None for retrieval-only systems
    passages: list[dict] = field(default_factory=list)  # what was retrieved, best first
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None


class System(Protocol):
    name: str
    answers: bool  # False for retrieval-only systems

    def predict(self, example: Example) -> Prediction: ...


def passage_dict(p: Passage) -> dict:
    return {"n": p.n, "source": p.source, "chunk_id": p.chunk_id, "start": p.start, "end": p.end,
            "score": round(float(p.score), 4), "title": p.title, "text": p.text}


# --- retrieval only -------------------------------------------------------------------------------
class RetrievalSystem:
    """One of the service's retrievers on its own: `bm25`, `dense` or `hybrid` (the default of `groundqa`)."""

    answers = False

    def __init__(self, service, collection: str, mode: str, depth: int = RETRIEVAL_DEPTH):
        self.name = mode
        self.retriever = service.retriever_for(mode)
        self.collection, self.depth = collection, depth

    def predict(self, example: Example) -> Prediction:
        t0 = time.perf_counter()
        passages = self.retriever.retrieve(example.question, self.collection, self.depth)
        ms = (time.perf_counter() - t0) * 1000
        return Prediction(example.id, self.name, None, [passage_dict(p) for p in passages], {"retrieve": ms, "total": ms})


class GroundQASystem:
    answers = True

    def __init__(self, service, collection: str, generator: str, top_k: int):
        self.service, self.collection, self.generator, self.top_k = service, collection, generator, top_k
        self.name = f"groundqa:{generator}"

    def predict(self, example: Example) -> Prediction:
        try:
            answer = self.service.ask(example.question, self.collection, top_k=self.top_k, generator=self.generator)
        except GeneratorError as exc:  # one bad generation is a failed question, not a failed run
            return Prediction(example.id, self.name, None, [], {}, error=exc.message)
        return Prediction(example.id, self.name, answer.to_dict(), [passage_dict(p) for p in answer.passages],
                          dict(answer.timings_ms))


# --- llama-index ---------------------------------------------------------------------------------
_REFUSAL = re.compile(
    r"^\s*(empty response|i don'?t know)|\b(do(es)?n'?t|do(es)? not|cannot|can'?t)\s+(say|contain|mention|provide|answer|determine)"
    r"|\bno (information|answer|mention)\b|\bnot (mentioned|provided|specified|stated)\b", re.I)


def looks_like_refusal(text: str) -> bool:
    """For systems that do not say whether they refused: an empty answer or a stock 'not in the context'."""
    return not text.strip() or bool(_REFUSAL.search(text))


def _llama_index_parts(embedder, local_generator, max_tokens: int, context_window: int):
    """llama-index adapters, built on first use so that importing evals stays cheap."""
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
    from llama_index.core.llms.callbacks import llm_completion_callback

    class GroundQAEmbedding(BaseEmbedding):
        """Our sentence-transformers embedder, so queries and stored vectors come from one model."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder, **kwargs):
            super().__init__(model_name=embedder.fingerprint, **kwargs)
            self._embedder = embedder

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed([query])[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed(texts)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    class GroundQALocalLLM(CustomLLM):
        """The local generator's llama.cpp model, prompted with llama-index's own QA template."""

        context_window: int = 2048
        num_output: int = 160
        model_name: str = "smollm2-local"
        _generator: Any = PrivateAttr()

        def __init__(self, generator, **kwargs):
            super().__init__(**kwargs)
            self._generator = generator

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(context_window=self.context_window, num_output=self.num_output, model_name=self.model_name)

        @llm_completion_callback()
        def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
            llm = self._generator.load()
            out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], temperature=0.0, top_k=1,
                                             max_tokens=self.num_output)
            return CompletionResponse(text=out["choices"][0]["message"].get("content") or "")

        @llm_completion_callback()
        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any):
            yield self.complete(prompt, formatted, **kwargs)

    return (GroundQAEmbedding(embedder),
            GroundQALocalLLM(local_generator, context_window=context_window, num_output=max_tokens))


def chroma_collection(config, name: str):
    """The raw Chroma collection behind a service's store (llama-index wants the client's object)."""
    from index.store import chroma_client

    client = chroma_client(url=config.chroma_url) if config.chroma_url else chroma_client(path=config.chroma_path)
    return client.get_collection(name)


class LlamaIndexSystem:
    name = "llamaindex"
    answers = True

    def __init__(self, service, collection: str, top_k: int):
        from llama_index.core import VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        cfg = service.config
        embed_model, llm = _llama_index_parts(service.embedder, service.generator("local"), cfg.max_tokens, cfg.llm_ctx)
        store = ChromaVectorStore(chroma_collection=chroma_collection(cfg, collection))
        index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
        self.engine = index.as_query_engine(llm=llm, similarity_top_k=top_k)

    def predict(self, example: Example) -> Prediction:
        from llama_index.core.schema import QueryBundle

        t0 = time.perf_counter()
        bundle = QueryBundle(example.question)
        nodes = self.engine.retrieve(bundle)
        t1 = time.perf_counter()
        response = self.engine.synthesize(bundle, nodes)
        t2 = time.perf_counter()
        text = str(response.response or "").strip()
        passages, citations = [], []
        for i, nws in enumerate(nodes, 1):
            node, meta = nws.node, nws.node.metadata or {}
            start, end = int(meta.get("start", -1)), int(meta.get("end", -1))
            passages.append({"n": i, "source": meta.get("source", ""), "chunk_id": node.node_id, "start": start,
                             "end": end, "score": round(float(nws.score or 0.0), 4), "title": meta.get("title", ""),
                             "text": node.get_content()})
            citations.append({"n": i, "source": meta.get("source", ""), "chunk_id": node.node_id,
                              "quote": node.get_content(), "start": start, "end": end})
        refused = looks_like_refusal(text)
        timings = {"retrieve": (t1 - t0) * 1000, "generate": (t2 - t1) * 1000, "verify": 0.0, "total": (t2 - t0) * 1000}
        answer = {"question": example.question, "answer": text, "refused": refused,
                  "citations": [] if refused else citations, "generator": "llamaindex:local",
                  "timings_ms": {k: round(v, 2) for k, v in timings.items()}}
        return Prediction(example.id, self.name, answer, passages, timings)


# --- predictions file ----------------------------------------------------------------------------
def load_predictions(path: str | Path) -> dict[str, dict]:
    """Answers from a JSONL file in the answer contract, keyed by example id ("id") or, failing that,
    by question text ("question")."""
    path = Path(path)
    if not path.is_file():
        raise PathNotFound(f"Predictions file not found: {path}. Pass a JSONL file with one answer object per line "
                           '(the `qa ask --json` contract plus "id", the question\'s id in the dataset).')
    out = {}
    for i, obj in json_lines(path, "Each line must be one answer object."):
        if not isinstance(obj, dict) or "answer" not in obj or not (obj.get("id") or obj.get("question")):
            raise InvalidInput(f'{path}:{i}: each line needs "answer" and "id" (or "question"), '
                               "as in the output of `qa ask --json`.")
        out[str(obj.get("id") or obj["question"]).strip()] = obj
    return out


class PredictionsSystem:
    answers = True

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = f"predictions:{self.path.stem}"
        self.rows = load_predictions(self.path)

    def predict(self, example: Example) -> Prediction:
        row = self.rows.get(example.id) or self.rows.get(example.question)
        if row is None:
            return Prediction(example.id, self.name, None, error="no prediction for this question")
        answer = dict(row)
        if "refused" not in answer:
            answer["refused"] = looks_like_refusal(answer.get("answer", ""))
        answer.setdefault("citations", [])
        timings = {k: float(v) for k, v in (answer.get("timings_ms") or {}).items() if isinstance(v, (int, float))}
        return Prediction(example.id, self.name, answer, list(answer.pop("passages", []) or []), timings)


SYSTEM_NAMES = ("bm25", "dense", "hybrid", "groundqa", "llamaindex")


def parse_systems(spec: str, default_generator: str) -> list[str]:
    """`bm25,dense,groundqa:extractive,groundqa:local,llamaindex` -> canonical names, in order."""
    names = []
    for raw in (s.strip() for s in spec.split(",")):
        if not raw:
            continue
        base, _, gen = raw.partition(":")
        if base not in SYSTEM_NAMES or (gen and base != "groundqa"):
            raise InvalidInput(f"Unknown system {raw!r}: choose from bm25, dense, hybrid, groundqa, groundqa:GENERATOR "
                              "(e.g. groundqa:extractive) and llamaindex, separated by commas.")
        name = f"groundqa:{gen or default_generator}" if base == "groundqa" else base
        if name not in names:
            names.append(name)
    if not names:
        raise InvalidInput("No systems given. Use e.g. --systems bm25,dense,groundqa.")
    return names
