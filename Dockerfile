# syntax=docker/dockerfile:1
# Edgewatch container image: one image for every role (api, worker, scheduler, migrations).
#   docker build -t edgewatch .
#   docker run --rm -p 8000:8000 -e EDGEWATCH_HOST=0.0.0.0 edgewatch            # the API + dashboard
#   docker run --rm edgewatch db upgrade                                        # migrations
# The build stage resolves nothing: it installs exactly what uv.lock pins (`uv sync --frozen`).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/venv

RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /src

# Dependencies first (cached as long as the lock file does not change), then the project itself,
# installed as a regular (non-editable) package so the runtime stage needs no source tree.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
RUN uv sync --frozen --no-dev --no-editable

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="edgewatch" \
      org.opencontainers.image.description="Prediction-market intelligence: API, dashboard, workers" \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged uid/gid so Kubernetes can check runAsNonRoot and volumes can be chowned.
RUN groupadd --system --gid 10001 edgewatch \
 && useradd --system --uid 10001 --gid edgewatch --home-dir /home/edgewatch --create-home \
        --shell /usr/sbin/nologin edgewatch \
 && install -d -o edgewatch -g edgewatch -m 0750 /var/lib/edgewatch

# The virtual environment only: no compiler, no uv, no pip cache, no source checkout.
COPY --from=build /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    EDGEWATCH_HOST=0.0.0.0 \
    EDGEWATCH_PORT=8000 \
    EDGEWATCH_DATA_DIR=/var/lib/edgewatch \
    EDGEWATCH_LOG_FORMAT=json

USER 10001:10001
WORKDIR /home/edgewatch

EXPOSE 8000

# Liveness only (/health): readiness (/health/ready) is for load balancers and Kubernetes.
# python's urllib, because the slim image has no curl and we do not add one.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('EDGEWATCH_PORT', '8000') + '/health', timeout=4)"]

ENTRYPOINT ["edgewatch"]
CMD ["serve"]
