"""Engine tests share one rule: no compiled email survives from an earlier test (SQLite
reuses ids after a rollback, and compiled emails are cached by revision id)."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()
