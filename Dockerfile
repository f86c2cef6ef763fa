# The jobcost API image: `docker compose up` builds it; see docker-compose.yml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/jobcost

COPY pyproject.toml README.md alembic.ini ./
COPY backend ./backend
RUN pip install -e . && useradd --system --home /srv/jobcost jobcost
USER jobcost

EXPOSE 8000
# uvicorn worker processes of `jobcost serve` (it reads JOBCOST_WORKERS); set it when running the image.
ENV JOBCOST_WORKERS=1
# Migrate, then serve. Users are created with `docker compose exec api jobcost users create ...`.
CMD ["sh", "-c", "jobcost db upgrade && jobcost serve --host 0.0.0.0 --port 8000"]
