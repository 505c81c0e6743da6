FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BFF_HOST=0.0.0.0 BFF_PORT=8000
RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bff ./bff
RUN pip install . && useradd --create-home --uid 10001 bff && mkdir -p /data \
    && chown bff /data
USER bff
ENV BFF_REDIS_DATA_DIR=/data/redis
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD curl -fsS http://127.0.0.1:8000/readyz || exit 1
CMD ["bff", "serve", "--host", "0.0.0.0", "--port", "8000"]
