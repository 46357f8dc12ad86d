"""Temporal workflows: deterministic, sandbox-safe, no I/O."""
