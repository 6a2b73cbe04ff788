# tierflow's image for docker-compose.yml: the worker, the sink and the simulator (one image,
# three commands). Kafka runs in its own container (apache/kafka), so no Java here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
COPY agents ./agents
COPY sink ./sink
RUN pip install . \
    && useradd --create-home --uid 10001 tierflow \
    && mkdir -p /data /app/.tierflow \
    && chown tierflow /data /app/.tierflow

USER tierflow
ENV TIERFLOW_PROGRAM=/app/streams/program.example.toml \
    TIERFLOW_DUCKDB=/data/tierflow.ducklake \
    TIERFLOW_WORKER_DATADIR=/data/worker
CMD ["tierflow", "--help"]
