# GraphiQL's browser files come from npm at build time; the BFF serves them (no CDN).
FROM node:20-slim AS web
WORKDIR /web
COPY clients/package.json clients/package-lock.json clients/.npmrc ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BFF_HOST=0.0.0.0 BFF_PORT=8000
RUN apt-get update && apt-get install -y --no-install-recommends build-essential curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Exactly the runtime lock, hash-checked (scripts/lock makes it); then the project alone,
# built with the locked setuptools.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bff ./bff
COPY --from=web /web/node_modules /tmp/node_modules
RUN pip install --no-deps --no-build-isolation . \
    && python -m bff.web install /tmp/node_modules \
    && rm -rf /tmp/node_modules \
    && useradd --create-home --uid 10001 bff && mkdir -p /data && chown bff /data
USER bff
ENV BFF_REDIS_DATA_DIR=/data/redis
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD curl -fsS http://127.0.0.1:8000/readyz || exit 1
CMD ["bff", "serve", "--host", "0.0.0.0", "--port", "8000"]
