"""The email options of ``WAGTAIL_JOURNEYS`` are checked by ``manage.py check``."""

from wagtail_journeys.conf import check_settings


def test_bad_email_options_are_reported(settings):
    settings.WAGTAIL_JOURNEYS = {
        "EMAIL_BASE_URL": "shop.example",
        "EMAIL_CONTEXT_VARIABLES": ["voucher_code", "Not An Identifier"],
        "EMAIL_CACHE_TIMEOUT": 0,
    }
    messages = " ".join(m.msg for m in check_settings())
    assert "EMAIL_BASE_URL" in messages
    assert "EMAIL_CONTEXT_VARIABLES" in messages
    assert "EMAIL_CACHE_TIMEOUT" in messages


def test_good_email_options_pass(settings):
    settings.WAGTAIL_JOURNEYS = {
        "EMAIL_BASE_URL": "https://shop.example",
        "EMAIL_CONTEXT_VARIABLES": ["voucher_code", "gift_card"],
    }
    assert check_settings() == []
