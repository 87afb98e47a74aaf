#!/usr/bin/env python3
"""A real SMTP server on loopback for the alert tests (aiosmtpd).

Every message received is saved in OUT_DIR as NNNN.json: envelope sender and
recipients, decoded From/To/Subject headers and the text body.

usage: smtp_sink.py OUT_DIR [--auth USER:PASSWORD]
Prints "PORT <n>" on stdout once it listens on 127.0.0.1:<n>; runs until killed.
"""
import argparse
import json
import os
import socket
import sys
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Saver:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "body": body.get_content() if body is not None else "",
        }
        path = os.path.join(self.out_dir, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 Message accepted"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--auth", help="USER:PASSWORD required to send")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    kwargs = {}
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False)

        kwargs = dict(authenticator=authenticator, auth_required=True, auth_require_tls=False)

    port = free_port()
    controller = Controller(Saver(args.out_dir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("PORT %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
