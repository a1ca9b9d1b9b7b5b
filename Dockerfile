# The workbench web process and its worker (docker-compose.yml runs both from this image).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md label_config.xml ./
COPY workbench ./workbench
COPY migrations ./migrations
RUN pip install --no-cache-dir . gunicorn
ENV WORKBENCH_INSTANCE_PATH=/app/instance
EXPOSE 5000
CMD ["sh", "-c", "workbench db upgrade && gunicorn --bind 0.0.0.0:5000 --workers 3 'workbench:create_app()'"]
