# Podium's image: the API (`podium api`), the RQ workers (`podium worker`) and the RTMP server
# (`podium rtmp`: nginx with libnginx-mod-rtmp) run from it.
# docker-compose.yml builds it once and starts both; settings come from PODIUM_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg nodejs npm nginx-light libnginx-mod-rtmp \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /home/podium --uid 10001 podium

WORKDIR /app
# Only what the package needs: the build context also holds .venv/ and var/, which must not
# end up in the image.
COPY pyproject.toml README.md ./
COPY config ./config
COPY runtime ./runtime
COPY ingest ./ingest
COPY workers ./workers
COPY api ./api
COPY cli ./cli
RUN pip install . && ffmpeg -version >/dev/null && podium --help >/dev/null
# Browser assets of /watch and /docs (hls.js, Swagger UI) from npm, pinned by the lockfile.
COPY web/package.json web/package-lock.json ./web/
RUN npm ci --prefix web --omit=dev && npm cache clean --force
ENV PODIUM_WEB_DIR=/app/web

USER podium
# Scratch space of the jobs (downloaded sources, encoder output); nothing here must survive.
ENV PODIUM_DATA_DIR=/home/podium/var
RUN mkdir -p /home/podium/var

EXPOSE 8000 1935 10000-10019/udp
CMD ["podium", "api", "--host", "0.0.0.0", "--port", "8000"]
