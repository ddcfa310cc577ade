"""Generation with the local model, against llama-cpp-python called directly.

For each question the service's retriever picks the passages and `LocalGenerator` builds its chat
messages; the harness records those messages (without generating) and gives the very same messages
to a second `llama_cpp.Llama` built with the same model file, n_ctx, threads and seed, with the same
sampling (temperature 0, top_k 1) and max_tokens. Both sides stream.

- Time to first token: ours is the first "token" event of `Service.ask_stream` (retrieval and prompt
  included), the reference is the first streamed delta of the raw call (prompt evaluation only).
- Tokens per second (decode): (tokens - 1) / (time of the last piece - time of the first piece), with
  tokens counted by tokenizing each side's output with the same tokenizer.
Each instance sees each prompt once (its KV-cache prefix reuse cannot favour one side), and the side
that goes first alternates."""

from __future__ import annotations

import time
from typing import Iterable

from bench.common import Section, log, median
from bench.context import COLLECTION, Context


def capture_messages(generator, question: str, passages) -> list[dict]:
    """The messages `generator.stream` would send to llama.cpp, recorded without running the model."""
    llm = generator.load()
    seen: list[dict] = []

    def record(*args, **kwargs):
        seen.append(kwargs)
        return iter(())

    llm.create_chat_completion = record  # an instance attribute shadows the method; removed below
    try:
        for _ in generator.stream(question, passages):
            pass
    finally:
        del llm.create_chat_completion
    if not seen or "messages" not in seen[0]:
        raise RuntimeError("could not record the local generator's messages")
    return seen[0]["messages"]


def _pieces(stream: Iterable[str], t0: float) -> tuple[str, list[float]]:
    text, stamps = [], []
    for piece in stream:
        stamps.append(time.perf_counter() - t0)
        text.append(piece)
    return "".join(text), stamps


def _ours(service, question: str) -> tuple[str, list[float]]:
    def tokens():
        for event in service.ask_stream(question, COLLECTION, generator="local"):
            if event.kind == "token":
                yield event.text

    return _pieces(tokens(), time.perf_counter())


def _raw(llm, messages: list[dict], max_tokens: int) -> tuple[str, list[float]]:
    def tokens():
        for part in llm.create_chat_completion(messages=messages, temperature=0.0, top_k=1, max_tokens=max_tokens,
                                               stream=True):
            delta = part["choices"][0].get("delta", {}).get("content")
            if delta:
                yield delta

    return _pieces(tokens(), time.perf_counter())


def run(ctx: Context) -> Section:
    from llama_cpp import Llama

    s = Section("generate")
    service = ctx.service()
    gen = service.generator("local")
    gen.load()
    k = service.config.top_k
    max_tokens = gen.max_tokens  # the built-in LocalGenerator: same model file, context and threads as ours
    raw = Llama(model_path=str(gen.model_path), n_ctx=gen.n_ctx, n_threads=gen.threads, n_threads_batch=gen.threads,
                seed=0, verbose=False)

    def count(text: str) -> int:
        return len(raw.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0

    questions = ctx.corpus.questions[: ctx.options.asks + 1]
    warm, questions = questions[0], questions[1:] or questions[:1]
    _ours(service, warm)  # first-call costs on both sides, outside the timings
    _raw(raw, capture_messages(gen, warm, service.retriever.retrieve(warm, COLLECTION, k)), max_tokens)

    ttft = {"ours": [], "raw": []}
    rate = {"ours": [], "raw": []}
    produced = {"ours": 0, "raw": 0}
    same = 0
    for i, q in enumerate(questions):
        log(f"generate {i + 1}/{len(questions)}")
        messages = capture_messages(gen, q, service.retriever.retrieve(q, COLLECTION, k))
        runs = [("ours", lambda: _ours(service, q)), ("raw", lambda: _raw(raw, messages, max_tokens))]
        out = {}
        for side, fn in (runs if i % 2 == 0 else runs[::-1]):
            text, stamps = fn()
            out[side] = text
            if not stamps:
                continue
            ttft[side].append(stamps[0] * 1000)
            n = count(text)
            produced[side] += n
            if n > 1 and stamps[-1] > stamps[0]:
                rate[side].append((n - 1) / (stamps[-1] - stamps[0]))
        same += out.get("ours") == out.get("raw")

    s.put("prompts", len(questions))
    s.put("max_tokens", max_tokens)
    s.put("same_output_share", same / max(1, len(questions)))
    for side in ("ours", "raw"):
        s.put(f"{side}_ttft_ms", median(ttft[side]), "ms", ttft[side])
        s.put(f"{side}_tokens_per_s", median(rate[side]), "tokens/s", rate[side])
        s.put(f"{side}_tokens", produced[side])
    s.compare("time to first token vs raw", "ours_ttft_ms", "raw_ttft_ms", "lower",
              label="TTFT (ours: ask_stream incl. retrieval)")
    s.compare("generation vs raw", "ours_tokens_per_s", "raw_tokens_per_s", "higher", (">=", 0.95))
    if same < len(questions):
        s.notes.append(f"ours and raw wrote different text for {len(questions) - same} of {len(questions)} prompts")
    return s
