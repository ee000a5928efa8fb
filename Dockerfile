# The callassist service: `callassist serve` against the PBX in CALLASSIST_AMI_URL.
# docker-compose.yml builds it; `docker build -t callassist .` works on its own too.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY app ./app
COPY telephony ./telephony
RUN pip install .

# The pages are static files next to the package in a checkout, not package data: point the
# service at them.
COPY frontend ./frontend
ENV CALLASSIST_FRONTEND_DIR=/app/frontend

# `callassist demo` (the simulator) reads its call templates from the recorded AMI streams,
# found next to the installed telephony package (telephony/simulator/scenarios.py:
# DEFAULT_CAPTURES = <site-packages>/tests/fixtures/ami). Only those files are copied.
COPY tests/fixtures/ami /usr/local/lib/python3.11/site-packages/tests/fixtures/ami

# docker-compose.yml runs this with a read-only root filesystem: the app writes only its
# journal (a volume at /var/lib/callassist, CALLASSIST_JOURNAL_PATH) and /tmp.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin callassist \
    && mkdir -p /var/lib/callassist && chown callassist:callassist /var/lib/callassist
# Fills secrets in from compose's secret files (/run/secrets), then runs the command.
COPY docker/app/entrypoint.sh /usr/local/bin/callassist-entrypoint
USER callassist

EXPOSE 8000
# No curl in the slim image; /readyz answers 200 only when the AMI link and database are up.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
# 0.0.0.0 inside the container; docker-compose.yml publishes it on the host's loopback only.
ENTRYPOINT ["/usr/local/bin/callassist-entrypoint"]
CMD ["callassist", "serve", "--host", "0.0.0.0", "--port", "8000"]
