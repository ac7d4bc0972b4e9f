"""A real SMTP server on loopback, in its own process, that delivers into a directory.

    python tests/smtp_sink.py PORT DIRECTORY

Each message it accepts is written to ``DIRECTORY/NNNN.eml`` (in the order received) as
a mail delivery agent would store it: a ``Delivered-To`` line for each envelope recipient,
then the bytes the client sent. A file appears whole (written aside, then renamed), so a
reader polling the directory never sees half a message. Stops on SIGTERM or SIGINT.
Used by ``tests/test_journey_e2e.py``, whose site sends through it with Django's SMTP
backend.
"""

from __future__ import annotations

import itertools
import signal
import sys
from pathlib import Path

from aiosmtpd.controller import Controller


class Maildir:
    """aiosmtpd handler: one file per message."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        number = next(self.numbers)
        delivered = "".join(f"Delivered-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        aside = self.directory / f".{number:04d}.tmp"
        aside.write_bytes(delivered.encode() + envelope.original_content)
        aside.rename(self.directory / f"{number:04d}.eml")
        print(f"received {number:04d}: {envelope.mail_from} -> {envelope.rcpt_tos}", flush=True)
        return "250 OK"


def main(port: int, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(Maildir(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"listening on 127.0.0.1:{port}, delivering into {directory}", flush=True)
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main(int(sys.argv[1]), Path(sys.argv[2]))
