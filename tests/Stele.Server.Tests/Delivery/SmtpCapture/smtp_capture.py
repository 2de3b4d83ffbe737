#!/usr/bin/env python3
"""A real SMTP server for Stele's email delivery tests.

Runs aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1 at a free port and writes every accepted
message to <dir>/<n>.json: the envelope, whether it came over TLS, the authenticated login and
mechanism, the parsed headers, the decoded plain-text body and the raw message in base64. Every AUTH
attempt is appended to <dir>/auth.jsonl (login, mechanism, success; never the password). Prints
"ready <port>" when it accepts connections and stops when its standard input closes.
"""
import argparse
import base64
import email
import email.policy
import json
import os
import socket
import ssl
import sys
from typing import NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult


class Login(NamedTuple):
    login: str
    mechanism: str


class Authenticator:
    def __init__(self, user, password, directory):
        self.user = user
        self.password = password
        self.attempts = os.path.join(directory, "auth.jsonl")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        success = login == self.user and password == self.password
        with open(self.attempts, "a", encoding="utf-8") as f:
            f.write(json.dumps({"login": login, "mechanism": mechanism, "success": success}) + "\n")
        if success:
            return AuthResult(success=True, auth_data=Login(login, mechanism))
        return AuthResult(success=False, handled=False)


class CaseInsensitiveAuthSMTP(SMTP):
    """SMTP keywords are case-insensitive (RFC 5321 section 2.4) and servers such as Postfix take SASL
    mechanism names in any case; aiosmtpd 1.4 matches them exactly, and System.Net.Mail sends
    "AUTH login". Upper-case the mechanism before aiosmtpd looks it up."""

    async def smtp_AUTH(self, arg):
        if arg:
            parts = arg.split(None, 1)
            arg = " ".join([parts[0].upper()] + parts[1:])
        return await super().smtp_AUTH(arg)


class CaptureController(Controller):
    def factory(self):
        return CaseInsensitiveAuthSMTP(self.handler, **self.SMTP_kwargs)


class CaptureHandler:
    def __init__(self, directory, reject_rcpt, reject_data):
        self.directory = directory
        self.reject_rcpt = reject_rcpt
        self.reject_data = reject_data
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject_rcpt and address.startswith(self.reject_rcpt[0]):
            return self.reject_rcpt[1]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reject_data:
            return self.reject_data
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        auth = session.auth_data if isinstance(session.auth_data, Login) else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": auth.login if auth else None,
            "mechanism": auth.mechanism if auth else None,
            "headers": {name: str(value) for name, value in message.items()},
            "content_type": message.get_content_type(),
            "body": body.get_content() if body is not None else None,
            "raw_base64": base64.b64encode(raw).decode("ascii"),
        }
        self.count += 1
        final = os.path.join(self.directory, f"{self.count:04d}.json")
        with open(final + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(final + ".tmp", final)
        return "250 2.0.0 Message accepted"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reply(text):
    code = text.split(" ", 1)[0]
    if len(code) != 3 or not code.isdigit():
        raise argparse.ArgumentTypeError("a reply starts with a 3-digit code")
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, help="where accepted messages are written")
    parser.add_argument("--cert", help="PEM certificate: offer STARTTLS with it")
    parser.add_argument("--key", help="PEM private key of --cert")
    parser.add_argument("--require-starttls", action="store_true", help="refuse everything but EHLO, STARTTLS and QUIT before TLS")
    parser.add_argument("--user", help="require AUTH with this login")
    parser.add_argument("--password", help="the password of --user")
    parser.add_argument("--exclude-auth", action="append", default=[], help="an AUTH mechanism not to offer (LOGIN, PLAIN)")
    parser.add_argument("--reject-rcpt", nargs=2, metavar=("PREFIX", "REPLY"), help="answer RCPT for addresses starting with PREFIX with REPLY")
    parser.add_argument("--reject-data", type=reply, help="answer DATA with this reply, for example '554 5.7.1 rejected'")
    args = parser.parse_args()

    kwargs = {}
    if args.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = args.require_starttls
    if args.user:
        kwargs["authenticator"] = Authenticator(args.user, args.password or "", args.dir)
        kwargs["auth_required"] = True
        kwargs["auth_require_tls"] = bool(args.cert)
        kwargs["auth_exclude_mechanism"] = args.exclude_auth
    reject_rcpt = (args.reject_rcpt[0], reply(args.reject_rcpt[1])) if args.reject_rcpt else None

    port = free_port()
    handler = CaptureHandler(args.dir, reject_rcpt, args.reject_data)
    controller = CaptureController(handler, hostname="127.0.0.1", port=port, server_hostname="smtp.test", **kwargs)
    controller.start()
    try:
        print(f"ready {port}", flush=True)
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
