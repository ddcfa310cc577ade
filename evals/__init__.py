"""Evaluation suite: datasets, metrics, systems, runs and reports. Depends on qa and index, never the reverse."""
