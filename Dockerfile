# SkyMist daemon and skyscan service: one image, the command picks.
# Build: docker build -t skymist .
# Run:   docker run --env-file skymist.env -v /srv/skymist:/var/lib/skymist skymist                  (skymist run)
#        docker run --env-file skymist.env skymist skymist check                                   (health)
#        docker run -p 8080:8080 skymist skyscan serve --host 0.0.0.0 --port 8080                   (scan service)
# The wheel is built once in the first stage and installed (not editable) into a venv, the same way
# .ci/run installs it for the demo; the runtime stage has no compiler, no sources, and runs as uid 10001.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY skybase ./skybase
COPY skymist ./skymist
COPY scanner_client ./scanner_client
COPY skyscan ./skyscan
COPY templates ./templates
COPY migrations ./migrations
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/skymist/venv \
    && /opt/skymist/venv/bin/pip install --no-cache-dir /wheels/skymist-*.whl

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/skymist/venv/bin:$PATH \
    SKYMIST_DATA_DIR=/var/lib/skymist/data
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/skymist skymist
COPY --from=build /opt/skymist/venv /opt/skymist/venv
USER 10001:10001
WORKDIR /var/lib/skymist
# the daemon's /metrics, /healthz and /readyz (probe those: the image also runs skyscan); skyscan: 8080
EXPOSE 9465 8080
# healthy while the daemon's /readyz answers 200 (store and broker reachable; 503 otherwise). It probes
# the daemon of CMD: run skyscan with --no-healthcheck (or --health-cmd of its own).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u\ntry: sys.exit(u.urlopen('http://127.0.0.1:9465/readyz', timeout=8).status != 200)\nexcept OSError as e: sys.exit(f'not ready: {e}')"]
CMD ["skymist", "run", "--metrics-port", "9465", "--metrics-host", "0.0.0.0"]
