# The image the API, the workers and the migration step share.
# Build stage: install the project and its runtime dependencies into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md worker.py ./
COPY workflows workflows
COPY activities activities
COPY api api
COPY orderflow orderflow
RUN /opt/venv/bin/pip install --no-cache-dir .

# Run stage: the virtualenv only (no compilers, no dev dependencies), as a non-root user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 orderflow
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000
USER orderflow
WORKDIR /home/orderflow
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# The API on API_HOST:API_PORT; workers and the migration step run `orderflow worker …` and
# `orderflow migrate` from the same image. Behind a proxy: trust its X-Forwarded-* headers.
CMD ["orderflow", "api", "--forwarded-allow-ips", "*"]
