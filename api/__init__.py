"""The HTTP API: a thin, stateless FastAPI layer over the order workflows."""
