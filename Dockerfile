# SkyMist daemon and skyscan service. Build: docker build -t skymist .
# Run:   docker run --env-file skymist.env skymist run          (the daemon)
#        docker run -p 8080:8080 skymist-skyscan ...             (see README)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/skymist skymist
WORKDIR /opt/skymist

COPY pyproject.toml setup.py README.md ./
COPY skymist ./skymist
COPY scanner_client ./scanner_client
COPY skyscan ./skyscan
COPY templates ./templates
COPY migrations ./migrations
RUN pip install --no-cache-dir .

USER 10001
WORKDIR /var/lib/skymist
ENTRYPOINT ["skymist"]
CMD ["run"]
