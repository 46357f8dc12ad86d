"""The service as a whole: the `orderflow` command (cli.py) and what it starts, the settings,
the Temporal connection, telemetry, health, the database layer and the benchmarks."""
