# Three stages: npm's GraphiQL files, a build of the locked virtualenv with the BFF's wheel
# (those files inside), and a slim runtime that is that virtualenv alone (no compiler, no
# curl, no source tree, not root). tests/test_image.py builds the wheel the same way from
# a clean clone, installs it into a fresh virtualenv, serves it and loads GraphiQL.

# GraphiQL's browser files from npm (clients/package-lock.json): no CDN at run time.
FROM node:20-slim AS web
WORKDIR /web
COPY clients/package.json clients/package-lock.json clients/.npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Exactly the runtime lock, hash-checked, wheels only (nothing compiled here); the build
# backend (setuptools) is in it. A layer of its own: source changes do not re-install it.
COPY requirements.lock ./
RUN python -m venv /venv \
    && /venv/bin/pip install --only-binary :all: --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY scripts/build-wheel scripts/
COPY bff bff
COPY --from=web /web/node_modules /tmp/node_modules
RUN PYTHON=/venv/bin/python scripts/build-wheel /tmp/node_modules /tmp/dist \
    && /venv/bin/pip install --no-deps /tmp/dist/bff-*.whl

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    BFF_HOST=0.0.0.0 BFF_PORT=8000 BFF_REDIS_DATA_DIR=/data/redis
RUN useradd --create-home --uid 10001 bff && mkdir -p /data && chown bff /data
COPY --from=build /venv /venv
USER bff
WORKDIR /home/bff
EXPOSE 8000
# /readyz answers 200 once Redis answers; Python's own HTTP client, as the image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD python -c "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('BFF_PORT', '8000'), timeout=2)"
CMD ["bff", "serve"]
