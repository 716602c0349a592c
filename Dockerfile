# The app image: gunicorn wsgi:app on :8000, and `flask --app wsgi worker` from the same image
# (compose.yaml runs both). Installs as `make run` does, with the catalogues compiled.
#   docker build -t membership .
# PYTHON_IMAGE lets a registry mirror stand in for Docker Hub's python:3.11-slim.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/app/.venv/bin:$PATH

RUN groupadd --system membership \
    && useradd --system --gid membership --home-dir /app --no-create-home membership

WORKDIR /app
# The dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY membership/__init__.py membership/
COPY stripe_sandbox/__init__.py stripe_sandbox/
RUN python3 -m venv .venv \
    && .venv/bin/python -m pip install --quiet --no-compile -e .

COPY wsgi.py babel.cfg ./
COPY membership membership
COPY stripe_sandbox stripe_sandbox
COPY migrations migrations
COPY templates templates
COPY static static
COPY translations translations
# Compiled catalogues (.mo files are not in git) and bytecode: the code is read-only at run time.
RUN .venv/bin/pybabel -q compile -d translations \
    && .venv/bin/python -m compileall -q membership stripe_sandbox .venv/lib \
    && mkdir -p instance \
    && chown membership:membership instance

USER membership
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=6s --start-period=20s --retries=3 \
    CMD ["/app/.venv/bin/python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=5)"]
# GUNICORN_CMD_ARGS adds or overrides settings (e.g. "--workers 8").
CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "30", "--access-logfile", "-"]
