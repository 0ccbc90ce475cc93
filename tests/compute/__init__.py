"""Compute backends: one conformance suite (``conformance.py``), subclassed once per backend."""
