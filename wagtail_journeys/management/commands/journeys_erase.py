"""``manage.py journeys_erase EMAIL…``: erase contacts (``privacy.erase_contact``), or
with ``--allow-again`` forget the suppression of erased addresses."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...consent import suppression_hash
from ...contacts import normalize_email
from ...exceptions import InvalidInput
from ...models import Contact, Suppression
from ...privacy import erase_contact


class Command(BaseCommand):
    help = (
        "Erase the contacts with these addresses: their data is deleted everywhere the app "
        "keeps it, the reports keep their totals, and with SUPPRESS_ERASED the address is "
        "kept as a keyed hash so it cannot be added again. With --allow-again, forget "
        "those hashes instead (the person asked to be added back)."
    )

    def add_arguments(self, parser):
        parser.add_argument("emails", nargs="+", metavar="EMAIL")
        parser.add_argument(
            "--allow-again",
            action="store_true",
            help="Delete the suppression of these erased addresses: imports, forms and the "
            "API may add them again.",
        )

    def handle(self, *args, emails: list[str], allow_again: bool = False, **options):
        try:
            addresses = [normalize_email(email) for email in emails]
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        failed = False
        for email in addresses:
            if allow_again:
                gone = Suppression.objects.filter(hash=suppression_hash(email)).delete()[0]
                self.stdout.write(
                    f"{email}: may be added again" if gone else f"{email}: was not suppressed"
                )
                continue
            contact = Contact.objects.filter(email=email).first()
            if contact is None:
                self.stderr.write(f"{email}: no contact has this address")
                failed = True
                continue
            erasure = erase_contact(contact)
            parts = ", ".join(f"{n} {name}" for name, n in erasure.deleted.items() if n)
            suffix = "; address suppressed" if erasure.suppressed else ""
            self.stdout.write(f"{email}: erased (contact #{contact.pk}; deleted {parts}){suffix}")
        if failed:
            raise CommandError("Some addresses named no contact; nothing was done for them.")
