# The workbench web process and its worker (docker-compose.yml runs both from this image).
# The first stage builds the wheel; the image installs that wheel and nothing else from the
# source tree: the migrations and label_config.xml ship inside the package, exactly as
# scripts/check-wheel checks them.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE label_config.xml ./
COPY migrations ./migrations
COPY workbench ./workbench
RUN pip install --no-cache-dir build && python -m build --outdir /dist .

FROM python:3.11-slim
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl \
    && useradd --create-home --uid 10001 workbench
USER workbench
WORKDIR /home/workbench
ENV WORKBENCH_INSTANCE_PATH=/home/workbench/instance
EXPOSE 5000
# gunicorn through `workbench serve`: WORKBENCH_WORKERS and WORKBENCH_THREADS size it,
# WORKBENCH_LOG_FORMAT=json writes JSON lines; probes: GET /health (liveness), GET /ready.
CMD ["sh", "-c", "workbench db upgrade && exec workbench serve --host 0.0.0.0 --port 5000"]
