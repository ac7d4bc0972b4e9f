"""Budget: importing 100,000 rows from the admin keeps the command's budget (≤ 60 s,
≤ 300 MB peak RSS): upload, confirm the columns and the django-q2 task (run in
django-q2's synchronous mode, in the same process: the task function a worker runs),
through Django's test client on SQLite. Also the status view the progress page polls.

Run standalone: ``python benchmarks/bench_admin_import.py``. The measured part runs in a
child process (``os.wait4`` gives its peak memory).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_import import (  # noqa: E402
    MEMORY_BUDGET_MB,
    ROWS,
    TIME_BUDGET_S,
    migrated_site,
    run_measured,
    write_csv,
)


def child(path: str) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django_q.conf import Conf

    from wagtail_journeys.models import ContactImport

    Conf.SYNC = True
    setup_test_environment()
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x")
    client = Client()
    client.force_login(user)
    started = time.perf_counter()
    with open(path, "rb") as f:
        upload = SimpleUploadedFile("contacts.csv", f.read(), content_type="text/csv")
    response = client.post(reverse("journeys_imports:upload"), {"file": upload})
    assert response.status_code == 302, response.content[:2000]
    confirm = response["Location"]
    form = client.get(confirm).context["form"]
    data = {name: field.initial for name, field in form.fields.items()}
    response = client.post(confirm, data)
    assert response.status_code == 302
    job = ContactImport.objects.get()
    assert job.status == "done", job.error
    assert job.rows == ROWS, job.rows
    print(f"  (admin import itself: {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    status = reverse("journeys_imports:status", args=[job.pk])
    runs = []
    for _ in range(20):
        t = time.perf_counter()
        client.get(status)
        runs.append(time.perf_counter() - t)
    runs.sort()
    print(f"bench admin_import_status_view: {runs[10] * 1000:.1f} ms (budget 100 ms)")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return 0
    with tempfile.TemporaryDirectory(prefix="journeys-bench-admin-import-") as tmp:
        tmp = Path(tmp)
        data = tmp / "contacts.csv"
        write_csv(data)
        env = migrated_site(tmp)
        command = [sys.executable, __file__, "--child", str(data)]
        elapsed, cpu, peak, status = run_measured(command, env, stdout=None)
        if status:
            print("bench admin_import_100k: failed")
            return 1
        print(f"bench admin_import_100k: {elapsed:.1f} s (budget {TIME_BUDGET_S} s)")
        print(f"bench admin_import_100k_cpu: {cpu:.1f} s (budget {TIME_BUDGET_S} s)")
        print(f"bench admin_import_peak_memory: {peak:.0f} MB (budget {MEMORY_BUDGET_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
