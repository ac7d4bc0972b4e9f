"""The segments' setting is checked like every other option."""

from wagtail_journeys.conf import check_settings


def test_segment_count_cache_seconds_must_not_be_negative(settings):
    settings.WAGTAIL_JOURNEYS = {"SEGMENT_COUNT_CACHE_SECONDS": -1}
    assert any("SEGMENT_COUNT_CACHE_SECONDS" in error.msg for error in check_settings())
    settings.WAGTAIL_JOURNEYS = {"SEGMENT_COUNT_CACHE_SECONDS": 0}
    assert check_settings() == []
