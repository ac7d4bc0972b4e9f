"""``make demo`` as a newcomer meets it: no test extras installed, the port can be changed,
and Ctrl-C stops the site and the worker cleanly (``journeys_demo_serve``)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from tests.processes import ROOT, Process, django_env, free_port, port_open, wait_for
from wagtail_journeys.tasks import ensure_schedules

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(*args: str) -> str:
    """What ``make -n ARGS`` would run, for a fresh checkout (a venv not made yet)."""
    done = subprocess.run(
        ["make", "-n", "VENV=/nonexistent/venv", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_make
def test_make_demo_installs_the_app_without_the_test_extras():
    demo = dry_run("demo")
    assert "pip install --quiet -e .\n" in demo
    assert "[test]" not in demo
    assert "journeys_demo_serve --port 8000" in demo
    assert '.[test]"' in dry_run("test")


@needs_make
def test_make_demo_takes_a_port():
    demo = dry_run("demo", "PORT=8001")
    assert "journeys_demo_serve --port 8001" in demo
    assert "8000" not in demo


@pytest.mark.slow
def test_ctrl_c_stops_the_site_and_the_worker_cleanly(
    transactional_db, django_db_serialized_rollback, tmp_path
):
    """The whole foreground group gets SIGINT, as from a terminal, while the scenario pump
    (an 85-second task) runs: the pump ends its pass, the worker and the site stop within
    the grace period (nothing killed), and nothing crashes."""
    ensure_schedules()
    port = free_port()
    env = django_env(JOURNEYS_BROKER="orm")
    serve = Process.manage(
        "journeys_demo_serve",
        "--port",
        str(port),
        "--grace",
        "60",
        env=env,
        log=tmp_path / "serve.log",
    )
    try:
        wait_for(
            lambda: (
                (
                    port_open("127.0.0.1", port)
                    and "'wagtail_journeys.tasks.run_scenarios' [journeys: run scenarios]"
                    in serve.output(100_000)
                )
                or not serve.running()
            ),
            timeout=120,
            what="the site and the scenario pump",
        )
        assert serve.running(), serve.output()
        os.killpg(serve.popen.pid, signal.SIGINT)
        serve.popen.wait(timeout=120)
        output = serve.output(100_000)
        assert serve.popen.returncode == 0, output
        assert "Site and worker stopped.\n" in output, output[-3000:]
        assert "Processed 'wagtail_journeys.tasks.run_scenarios'" in output
        assert "has stopped." in output  # the cluster's own orderly stop
        assert "Segmentation fault" not in output and "Traceback" not in output
        assert not port_open("127.0.0.1", port)
    finally:
        serve.stop(grace=5)


def test_the_demo_says_where_sent_mail_is_read(settings):
    from example_site.shop.management.commands.journeys_demo_serve import mail_locations

    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = "/srv/demo/sent_mail"
    lines = mail_locations("http://localhost:8001")
    assert lines[0].startswith("Sent mail: http://localhost:8001/admin/journeys_messages/")
    assert "/srv/demo/sent_mail" in lines[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    assert "this terminal" in mail_locations("http://localhost:8001")[1]
