"""The admin's contacts import in a real Chromium with a real ``manage.py qcluster``: the
editor uploads a CSV from the contacts listing, confirms its columns, and the progress
page, polling the import's status, shows the worker's result and offers the report of
rejected rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tests.browser import ARGS, CHROMIUM, live_server
from tests.processes import django_env
from tests.services import services_required
from tests.test_qcluster import start_cluster
from wagtail_journeys.models import Contact, ContactImport, ImportStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROWS = 3000


@pytest.fixture
def cluster(transactional_db, django_db_serialized_rollback, tmp_path):
    cluster = start_cluster(django_env(JOURNEYS_BROKER="orm"), tmp_path)
    yield cluster
    cluster.stop(grace=2)


@pytest.fixture
def page(cluster, transactional_db):
    if not os.path.exists(CHROMIUM):
        if services_required():
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    get_user_model().objects.create_superuser("boss", "boss@example.com", "journeys-demo")
    with (
        live_server() as server,
        pytest.MonkeyPatch.context() as patch,
        sync_playwright() as playwright,
    ):
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "journeys-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/admin/")
        page.server = server
        yield page
        browser.close()
        connections.close_all()


def test_import_a_csv_and_watch_it_run(page, tmp_path, cluster):
    data = tmp_path / "readers.csv"
    lines = ["Email,First name,Genre"]
    lines += [f"reader{i}@example.com,Reader {i},thriller" for i in range(ROWS)]
    lines += ["not-an-address,Nobody,none"]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page.goto(f"{page.server}/admin/journeys_contacts/")
    page.click("[data-journeys-import]")
    page.set_input_files("input[type=file]", str(data))
    page.click("[data-journeys-upload]")
    page.wait_for_url("**/contacts-import/*/")
    page.select_option("select[name=column_0]", "email")
    page.select_option("select[name=column_1]", "first_name")
    page.select_option("select[name=column_2]", "attr:Genre")
    page.click("[data-journeys-run]")
    page.wait_for_url("**/progress/")
    page.wait_for_selector("[data-journeys-import-status][data-finished=true]", timeout=90_000)
    state = page.locator(".journeys-import__state").inner_text()
    assert "Done" in state and f"{ROWS + 1} rows read" in state, state
    assert page.locator("[data-field=created]").inner_text() == str(ROWS)
    assert page.locator("[data-field=rejected]").inner_text() == "1"
    assert page.locator("progress").get_attribute("value") == "100"
    with page.expect_download() as download:
        page.click("text=Download the rejected rows")
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "not-an-address" in report and report.startswith("line,reason,Email")
    assert ContactImport.objects.get().status == ImportStatus.DONE
    assert Contact.objects.count() == ROWS
    assert Contact.objects.get(email="reader7@example.com").attributes == {"Genre": "thriller"}
