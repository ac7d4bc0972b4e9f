"""``manage.py journeys_move_database --to postgres://…``: copy the whole site's database
(SQLite) into a new, migrated PostgreSQL database, with a progress bar, then print and
compare the row counts of every table.

Thin wrapper around ``wagtail_journeys.move``; see ``docs/how-to/scale-out.md``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from ...move import MoveError, connect, move, redact
from ..progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Copy every table of this site's database into another, migrated, database "
        "(SQLite to PostgreSQL): primary keys kept, sequences reset, row counts compared. "
        "The source is only read."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to",
            required=True,
            metavar="ALIAS_OR_URL",
            help="the target: an alias of DATABASES, or a URL such as "
            "postgres://user:password@host:5432/name",
        )
        parser.add_argument(
            "--from",
            dest="source",
            default="default",
            metavar="ALIAS_OR_URL",
            help="the source (default: the 'default' database of the settings)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="move even into a database that holds data of its own (it is deleted)",
        )
        parser.add_argument("--batch-size", type=int, default=2000, help="rows per INSERT batch")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, to, source, replace, batch_size, no_progress, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            source_alias, target_alias = connect(source), connect(to)
        except MoveError as exc:
            raise CommandError(str(exc)) from exc
        progress = None

        def on_progress(done: int, total: int) -> None:
            nonlocal progress
            if no_progress:
                return
            if progress is None:
                progress = ProgressBar(self.stderr._out, total)
            progress.update(done, done)

        self.stdout.write(f"Moving {describe(source_alias)} into {describe(target_alias, to)}.")
        try:
            counts = move(
                source_alias,
                target_alias,
                batch_size=batch_size,
                replace=replace,
                on_progress=on_progress,
            )
        except MoveError as exc:
            raise CommandError(str(exc)) from exc
        except DatabaseError as exc:
            raise CommandError(
                f"The database stopped the move: {exc}. Nothing was written to the target."
            ) from exc
        finally:
            for alias in {source_alias, target_alias}:
                connections[alias].close()
        total = sum(c.source for c in counts)
        if progress:
            progress.finish(total, total)
        width = max(len(c.table) for c in counts)
        self.stdout.write(f"{'table':<{width}}  {'source':>10}  {'target':>10}")
        for count in counts:
            if count.source or count.target:
                self.stdout.write(
                    f"{count.table:<{width}}  {count.source:>10,}  {count.target:>10,}"
                )
        empty = sum(1 for c in counts if not c.source)
        self.stdout.write(
            self.style.SUCCESS(
                f"Moved {total:,} rows in {len(counts) - empty} tables ({empty} empty tables "
                "not listed); every count matches."
            )
        )
        self.stdout.write(
            "Next: point the settings at the new database, run `manage.py update_index` "
            "(the search index is not copied) and keep SECRET_KEY unchanged (links in mail "
            "already sent are signed with it)."
        )


def describe(alias: str, spec: str | None = None) -> str:
    settings_dict = connections[alias].settings_dict
    if spec and "://" in spec:
        return redact(spec)
    return f"{alias!r} ({settings_dict['ENGINE'].rsplit('.', 1)[-1]} {settings_dict['NAME']})"
