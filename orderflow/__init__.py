"""Command-line entry points: the embedded stack and the benchmark."""
