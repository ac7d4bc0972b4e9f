from django.apps import AppConfig


class WagtailJourneysConfig(AppConfig):
    name = "wagtail_journeys"
    label = "wagtail_journeys"
    verbose_name = "Journeys"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, post_save

        from . import conf, confirmation  # noqa: F401  (register the system checks)
        from .emails.render import forget_compiled
        from .models import BrandSettings
        from .segments.decimals import register_sqlite_functions
        from .tasks import ensure_schedules
        from .tracking import esp, forms

        forms.connect()
        esp.connect()  # ESP feedback, when django-anymail is installed
        post_save.connect(forget_compiled, sender=BrandSettings, dispatch_uid="journeys-brand")
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="journeys-schedules")
        from . import workers

        workers.install()  # qcluster stops in seconds on SIGTERM (see workers.py)
        connection_created.connect(register_sqlite_functions, dispatch_uid="journeys-decimals")
        from wagtail.signals import page_published, page_unpublished, post_page_move

        from .models import Segment
        from .scenarios import publishing

        page_published.connect(publishing.compile_on_publish, dispatch_uid="journeys-plan")
        page_unpublished.connect(
            publishing.pause_on_unpublish, dispatch_uid="journeys-plan-unpublish"
        )
        post_page_move.connect(publishing.recompile_on_move, dispatch_uid="journeys-plan-move")
        post_save.connect(
            publishing.recheck_on_segment_change, sender=Segment, dispatch_uid="journeys-seg"
        )
