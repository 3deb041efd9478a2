"""SMTP sink for the mailferry lab: every message received is written, as
received, to <messages dir>/<epoch ms>-<n>.eml (tmp file then rename, so a
reader never sees half a message).

Run: /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c mflab_sink.Sink DIR
(with this folder on PYTHONPATH).
"""
import itertools
import os
import time


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        os.makedirs(directory, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("mflab_sink.Sink needs one argument: the messages directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%d.eml" % (int(time.time() * 1000), next(self.counter))
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        with open(tmp, "wb") as f:
            f.write(content)
        os.rename(tmp, os.path.join(self.directory, name))
        return "250 Message accepted for delivery"
