"""Regression: `/api/schema/` asked by several threads at once in a fresh process answered one of them 500.

(Found by the schema fuzz test: four schemathesis callers loaded the schema at
the same moment from the threaded live server.) drf-spectacular loads its
extensions lazily with shared state; `bondplatform.schema_view.SchemaView`
builds the schema one thread at a time. The check runs in a new process,
where nothing is loaded yet.
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
import os, threading
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bondplatform.settings")
django.setup()
from django.test import Client
statuses = []
def fetch():
    statuses.append(Client().get("/api/schema/").status_code)
threads = [threading.Thread(target=fetch) for _ in range(6)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sorted(statuses))
"""


def test_the_schema_answers_threads_that_ask_at_once():
    env = {**os.environ, "DATABASE_URL": "sqlite:///:memory:"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str([200] * 6), done.stdout + done.stderr[-3000:]
