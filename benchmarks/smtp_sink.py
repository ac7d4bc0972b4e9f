"""An SMTP server for the benchmarks, in a process of its own: it takes every mail and
writes its Message-ID, one a line, to a file (before it answers ``250``, so a mail the
sender saw accepted is counted). ``SIGUSR1`` makes it refuse mail (``421`` to DATA, as a
server shutting down would), ``SIGUSR2`` makes it accept again; ``SIGTERM`` stops it.

    python benchmarks/smtp_sink.py PORT RECEIVED_FILE
"""

from __future__ import annotations

import email.parser
import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path: str):
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 (open while it runs)
        self.refusing = False
        self.refused = 0
        self.parser = email.parser.BytesHeaderParser()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.refusing:
            self.refused += 1
            return "421 4.3.2 Service shutting down, try again later"
        message_id = self.parser.parsebytes(envelope.content).get("Message-ID", "")
        self.out.write(f"{message_id}\n")
        return "250 OK"


def main(port: int, path: str) -> None:
    sink = Sink(path)
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: setattr(sink, "refusing", True))
    signal.signal(signal.SIGUSR2, lambda *_: setattr(sink, "refusing", False))
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    print("ready", flush=True)
    while not stop.wait(0.5):
        pass
    controller.stop()
    sink.out.close()
    print(f"refused {sink.refused}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
