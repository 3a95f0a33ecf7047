# The action's image. Built by the runner from this file (`runs.image: Dockerfile`).
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY requirements.txt /app/requirements.txt
# requirements.txt pins every dependency with its hashes (`make lock`): --require-hashes installs
# exactly those files or fails, --no-deps because the file already lists the whole closure.
# Let pip byte-compile what it installs (no --no-compile): every start then imports requests and
# yaml from .pyc files instead of compiling them again in a throwaway container.
RUN pip install --no-cache-dir --require-hashes --no-deps -r /app/requirements.txt

COPY hex_action /app/hex_action
COPY entrypoint.py /app/entrypoint.py
# Compile once at build time so every start skips it; -E -s keep a job's PYTHONPATH and
# user site out, -u keeps output unbuffered even though -E ignores PYTHONUNBUFFERED.
RUN python -m compileall -q /app

ENTRYPOINT ["/usr/local/bin/python", "-E", "-s", "-u", "/app/entrypoint.py"]
