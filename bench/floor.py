"""The raw floor, run as a child process (`python -m bench.floor ask HOME QUESTION` or
`python -m bench.floor ingest FOLDER CHROMA_DIR`): the same libraries and models as `qa`, with none of
groundqa's pipeline. Its wall time and peak RSS are the references for cold start and memory.

- ask: import torch / sentence-transformers / chromadb / llama_cpp, load both models, encode the
  question, query the `bench` Chroma collection that `qa ingest` built in HOME, and generate an answer
  from the top passages with the same model, threads, context and max_tokens as `qa ask`.
- ingest: read the .txt files, chunk them as groundqa does, encode, add to a fresh Chroma collection.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _threads() -> int:
    return int(os.environ.get("GROUNDQA_THREADS", "2"))


def _model():
    import torch
    from sentence_transformers import SentenceTransformer

    from index.embeddings import shipped_model_path

    torch.set_num_threads(_threads())
    return SentenceTransformer(str(shipped_model_path()), device="cpu", local_files_only=True)


def _client(path: Path):
    from index.store import chroma_client

    return chroma_client(path=path)


def ask(home: str, question: str) -> None:
    from llama_cpp import Llama

    from qa.config import Config
    from qa.generators import build_messages, shipped_gguf_path

    config = Config()
    model = _model()
    collection = _client(Path(home) / "chroma").get_collection(os.environ.get("GROUNDQA_COLLECTION", "bench"))
    vector = model.encode([question], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    hits = collection.query(query_embeddings=vector, n_results=config.top_k)
    texts = hits["documents"][0]

    class P:  # what build_messages reads from a passage
        def __init__(self, n, text):
            self.n, self.text = n, text

    llm = Llama(model_path=str(shipped_gguf_path()), n_ctx=config.llm_ctx, n_threads=_threads(),
                n_threads_batch=_threads(), seed=0, verbose=False)
    max_tokens = int(os.environ.get("GROUNDQA_MAX_TOKENS", config.max_tokens))
    out = llm.create_chat_completion(messages=build_messages(question, [P(i + 1, t) for i, t in enumerate(texts)]),
                                     temperature=0.0, top_k=1, max_tokens=max_tokens)
    print(out["choices"][0]["message"].get("content") or "")


def ingest(folder: str, chroma_dir: str) -> None:
    from index.chunking import chunk_document
    from index.loaders import expand_paths, load

    texts = [c.text for f in expand_paths([folder]) for c in chunk_document(load(f))]
    model = _model()
    client = _client(Path(chroma_dir))
    collection = client.get_or_create_collection("bench", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    step = client.get_max_batch_size()
    for i in range(0, len(texts), step):
        collection.add(ids=[f"c{j}" for j in range(i, min(i + step, len(texts)))],
                       embeddings=vectors[i : i + step], documents=texts[i : i + step])
    print(collection.count())


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    {"ask": ask, "ingest": ingest}[command](*rest)
