"""Ingest throughput: chunks per second for the corpus, through `Service.ingest` (files in, index out),
against (a) raw `SentenceTransformer.encode` on the same chunk texts plus a raw Chroma `add`, and
(b) llama-index `VectorStoreIndex.from_documents` with the same embedding model and a Chroma store.

Two more references keep the ratios honest: (a') the same raw floor but encoding with our embedder
(whatever backend it runs, e.g. OpenVINO) — the pipeline's own overhead; and (b') llama-index with a
SentenceSplitter sized like our chunks (~700 characters, one-sentence overlap). llama-index's default
splitter makes 1024-token nodes that all-MiniLM-L6-v2 truncates at 256 tokens, so it embeds less text
and half as many vectors: faster, but not the same work.

Each run starts from an empty store in a fresh directory; the three are interleaved run by run, so
a load spike hits all of them alike. The embedding model is loaded (and warm) before any timing."""

from __future__ import annotations

from pathlib import Path

from bench.common import Section, Stopwatch, log, median
from bench.context import COLLECTION, Context


def _chroma(path: Path):
    from index.store import chroma_client

    client = chroma_client(path=path)
    collection = client.get_or_create_collection(COLLECTION, metadata={"hnsw:space": "cosine"}, embedding_function=None)
    return client, collection


def raw_ingest(model, texts: list[str], folder: Path, batch_size: int = 32):
    """The floor: encode every chunk text in batches, add vectors + texts to a fresh Chroma collection."""
    client, collection = _chroma(folder)
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                           show_progress_bar=False)
    step = client.get_max_batch_size()
    for i in range(0, len(texts), step):
        collection.add(ids=[f"c{j}" for j in range(i, min(i + step, len(texts)))],
                       embeddings=vectors[i : i + step], documents=texts[i : i + step])
    return collection


def raw_ingest_same_backend(embedder, texts: list[str], folder: Path):
    """The floor with our embedder's encode (same backend as ours), plus the same raw Chroma add."""
    client, collection = _chroma(folder)
    vectors = embedder.embed(texts)
    step = client.get_max_batch_size()
    for i in range(0, len(texts), step):
        collection.add(ids=[f"c{j}" for j in range(i, min(i + step, len(texts)))],
                       embeddings=vectors[i : i + step], documents=texts[i : i + step])
    return collection


def llama_index_ingest(ctx: Context, folder: Path, same_chunking: bool = False) -> int:
    """llama-index as its docs show it: Documents -> VectorStoreIndex.from_documents (its default
    splitter), our embedding model through the eval adapter, a Chroma vector store. Returns nodes stored."""
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from evals.systems import _llama_index_parts

    embed_model, _ = _llama_index_parts(ctx.embedder(), None, 16, 2048)
    embed_model.embed_batch_size = 32  # the batch size our embedder and the raw path use (llama-index default: 10)
    docs = [Document(text=d.text, metadata={"source": d.source}) for d in ctx.corpus.documents]
    _, collection = _chroma(folder)
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    kwargs = {}
    if same_chunking:
        from llama_index.core.node_parser import SentenceSplitter

        # ~700 characters ≈ 160 MiniLM tokens, one sentence (~30 tokens) of overlap, like index/chunking.py
        kwargs["transformations"] = [SentenceSplitter(chunk_size=160, chunk_overlap=30)]
    VectorStoreIndex.from_documents(docs, storage_context=storage, embed_model=embed_model, show_progress=False,
                                    **kwargs)
    return collection.count()


def _llama_index_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("llama_index.core", "llama_index.vector_stores.chroma"))


def run(ctx: Context) -> Section:
    s = Section("ingest")
    corpus = ctx.corpus
    n_chunks = len(corpus.chunk_texts)
    model = ctx.raw_model()
    with_li = _llama_index_available()
    if with_li:  # import outside the timings (the cold-start section is where imports count)
        import llama_index.core  # noqa: F401
        import llama_index.vector_stores.chroma  # noqa: F401
    else:
        s.notes.append("llama-index is not installed: no peer baseline")
    raw_s, same_s, ours_s, li_s, li_nodes, ours_chunks = [], [], [], [], 0, 0
    lis_s, lis_nodes = [], 0
    for r in range(ctx.options.runs):
        log(f"ingest run {r + 1}/{ctx.options.runs}: {len(corpus.documents)} documents, {n_chunks} chunks")
        folder = ctx.new_dir("raw")
        with Stopwatch() as w:
            collection = raw_ingest(model, corpus.chunk_texts, folder)
        raw_s.append(w.seconds)
        ctx.raw_collection = collection
        with Stopwatch() as w:
            raw_ingest_same_backend(ctx.embedder(), corpus.chunk_texts, ctx.new_dir("raw-same"))
        same_s.append(w.seconds)

        service = ctx.open_service(ctx.new_dir("ours"))
        with Stopwatch() as w:
            report = service.ingest([corpus.folder], collection=COLLECTION)
        ours_s.append(w.seconds)
        ours_chunks = report.chunks
        if report.failed:
            s.notes.append(f"ours: {report.failed} file(s) failed to ingest")
        ctx.set_service(service)

        if with_li:
            folder = ctx.new_dir("llamaindex")
            with Stopwatch() as w:
                li_nodes = llama_index_ingest(ctx, folder)
            li_s.append(w.seconds)
            with Stopwatch() as w:
                lis_nodes = llama_index_ingest(ctx, ctx.new_dir("llamaindex-same"), same_chunking=True)
            lis_s.append(w.seconds)

    s.put("documents", len(corpus.documents))
    s.put("chunks", n_chunks)
    s.put("ours_chunks_written", ours_chunks)
    if ours_chunks != n_chunks:
        s.notes.append(f"ours wrote {ours_chunks} chunks, the raw path embedded {n_chunks}: chunking differs")
    s.put("runs", len(ours_s))
    s.put("ours_seconds", median(ours_s), "s", ours_s)
    s.put("raw_seconds", median(raw_s), "s", raw_s)
    s.put("ours_chunks_per_s", n_chunks / median(ours_s), "chunks/s")
    s.put("raw_chunks_per_s", n_chunks / median(raw_s), "chunks/s")
    s.compare("ingest vs raw", "ours_chunks_per_s", "raw_chunks_per_s", "higher", (">=", 0.9))
    s.put("raw_same_backend_seconds", median(same_s), "s", same_s)
    s.put("raw_same_backend_chunks_per_s", n_chunks / median(same_s), "chunks/s")
    s.compare("ingest vs raw, same backend", "ours_chunks_per_s", "raw_same_backend_chunks_per_s", "higher",
              (">=", 0.9))
    if li_s:
        s.put("llamaindex_seconds", median(li_s), "s", li_s)
        s.put("llamaindex_nodes", li_nodes)
        # Same documents on both sides, so throughput is counted in our chunks (ratio = time ratio).
        s.put("llamaindex_chunks_per_s", n_chunks / median(li_s), "chunks/s")
        s.compare("ingest vs llama-index (its defaults)", "ours_chunks_per_s", "llamaindex_chunks_per_s", "higher",
                  against="llama-index")
        s.put("llamaindex_same_chunking_seconds", median(lis_s), "s", lis_s)
        s.put("llamaindex_same_chunking_nodes", lis_nodes)
        s.put("llamaindex_same_chunking_chunks_per_s", n_chunks / median(lis_s), "chunks/s")
        s.compare("ingest vs llama-index, same chunking", "ours_chunks_per_s", "llamaindex_same_chunking_chunks_per_s",
                  "higher", (">", 1.0), against="llama-index")
    return s
