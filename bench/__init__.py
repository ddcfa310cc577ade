"""groundqa's benchmark harness (`make bench`, `python -m bench`).

Every figure is a median of several runs, measured in the same run as its reference (raw
sentence-transformers + Chroma, raw llama-cpp-python, llama-index on the same models), and reported
as a ratio ours / reference. Nothing here asserts a time. See bench/README.md.

The harness sits outside the product: it imports qa, index and evals; nothing imports it.
"""
