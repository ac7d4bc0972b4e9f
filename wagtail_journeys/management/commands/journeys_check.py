"""``manage.py journeys_check``: what is wrong with the live scenarios."""

from django.core.management.base import BaseCommand, CommandError

from wagtail_journeys.scenarios.checker import ERROR
from wagtail_journeys.scenarios.report import check_all


class Command(BaseCommand):
    help = (
        "Check every live scenario: branches with no step, unreachable steps, emails and "
        "started scenarios that are not live, waits that never end, loops across scenarios "
        "(through start steps, emails, links, webhooks and segments), and the scenarios the "
        "engine holds because they fail the checker. Exits 1 on errors."
    )

    def handle(self, *args, **options):
        problems = check_all()
        for title, problem in problems:
            style = self.style.ERROR if problem.level == ERROR else self.style.WARNING
            self.stdout.write(style(f"{title}: {problem}"))
        errors = sum(1 for _, p in problems if p.level == ERROR)
        self.stdout.write(f"{len(problems)} problem(s), {errors} error(s)")
        if errors:
            raise CommandError(f"{errors} scenario error(s)")
