"""Fixed tune/test splits, the same on every run and every machine.

- `tune`: anything may be read or fitted against it while developing (thresholds, weights, rules,
  `qa calibrate`).
- `test`: never used for fitting; read only to report. The CI gate runs on test splits.

Rule: an item whose dataset carries an explicit `"split"` field (the hand-written sets: seed, docs,
claims, conversations) keeps it. Otherwise the split is a content hash of "DATASET:ID": the first 8
hex digits of its SHA-256, even -> tune, odd -> test (about half each, independent of order and of
which other items exist). ClapNQ is the exception: its test split is the fixed, seeded 50 + 50
subset that has been held out of calibration since it was chosen (`evals.datasets.CLAPNQ_SEED`); every
other ClapNQ dev question is tune.
"""

from __future__ import annotations

import hashlib

SPLITS = ("tune", "test")
SPLIT_CHOICES = ("tune", "test", "all")


def hash_split(dataset: str, item_id: str) -> str:
    """`tune` or `test` for an item without an explicit split (see the module docstring)."""
    digest = hashlib.sha256(f"{dataset}:{item_id}".encode("utf-8")).hexdigest()
    return "tune" if int(digest[:8], 16) % 2 == 0 else "test"


def check_split(split: str) -> str:
    from qa.errors import InvalidInput

    if split not in SPLIT_CHOICES:
        raise InvalidInput(f"Unknown split {split!r}: use --split tune, --split test or --split all.")
    return split
