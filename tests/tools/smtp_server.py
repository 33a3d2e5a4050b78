#!/usr/bin/env python3
"""A real SMTP server for the end-to-end tests: aiosmtpd, with a handler that
stores every accepted message and can misbehave on purpose.

    smtp_server.py --port P --dir DIR [--tempfail ADDR:N]... [--reject ADDR]...
                   [--delay SECONDS] [--throttle-every N]

--tempfail ADDR:N   answer 451 to RCPT TO:<ADDR> the first N times, then accept
--reject ADDR       answer 550 to RCPT TO:<ADDR>, always
--reject-all        answer 550 5.1.1 (unknown user) to every RCPT (a server that does
                    not relay for us, and says so badly)
--delay S           wait S seconds before answering the end of DATA
--reply-delay S     keep the message, then wait S seconds before the 250 (a client
                    gone meanwhile cannot know it went)
--throttle-every N  answer 421 (and close) to every Nth message's DATA end
--throttle-first N  answer 421 to the first N messages' DATA end, then accept
--rcpt-421          answer 421 (and close) to every RCPT: a relay that turns us away
                    after the sender was accepted
--quota N           accept N messages, then answer 451 to every RCPT (a sending quota)
--refuse-session    answer 554 to EHLO and HELO (a server that will not talk to us)
--refuse-sender     answer 553 to every MAIL FROM
--defer-sender      answer 451 to every MAIL FROM
--refuse-content    answer 554 to every message's DATA end (a content filter, a size limit)
--drop-after-data N close the connection without a reply after the Nth message's
                    DATA (the message is kept: the client cannot know it went)
--auth USER:PASS    require AUTH (PLAIN/LOGIN without TLS) with these credentials;
                    every AUTH attempt is logged to attempts.log as "AUTH <mechanism>"
--no-smtputf8       do not offer SMTPUTF8
--max-connections N answer 421 at the greeting (and close) to every connection
                    beyond N open at once, as relays with a per-client limit do
--size-limit N      take messages of at most N bytes (offered as SIZE N; aiosmtpd
                    answers 552 beyond it, to MAIL ... SIZE= and at DATA's end)
--starttls CERT:KEY offer STARTTLS with this certificate and key (PEM files)
--no-pipelining     do not offer PIPELINING (offered by default, as Postfix,
                    Exim and the big providers do; aiosmtpd reads pipelined
                    commands in order but does not announce it itself)

Every accepted message is written to DIR/<counter>.eml; every RCPT attempt is
appended to DIR/attempts.log as "<address> <code>". Prints "READY" when listening.
"""
import argparse, asyncio, itertools, os, sys, time, warnings

warnings.filterwarnings("ignore")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--tempfail", action="append", default=[])
parser.add_argument("--reject", action="append", default=[])
parser.add_argument("--reject-all", action="store_true")
parser.add_argument("--delay", type=float, default=0.0)
parser.add_argument("--reply-delay", type=float, default=0.0)
parser.add_argument("--throttle-every", type=int, default=0)
parser.add_argument("--throttle-first", type=int, default=0)
parser.add_argument("--refuse-session", action="store_true")
parser.add_argument("--refuse-sender", action="store_true")
parser.add_argument("--defer-sender", action="store_true")
parser.add_argument("--refuse-content", action="store_true")
parser.add_argument("--drop-after-data", type=int, default=0)
parser.add_argument("--auth", default="")
parser.add_argument("--no-smtputf8", action="store_true")
parser.add_argument("--no-pipelining", action="store_true")
parser.add_argument("--max-connections", type=int, default=0)
parser.add_argument("--quota", type=int, default=-1)
parser.add_argument("--rcpt-421", action="store_true")
parser.add_argument("--starttls", default="")
parser.add_argument("--size-limit", type=int, default=10 * 1024 * 1024)
args = parser.parse_args()

tempfail = {}
for spec in args.tempfail:
    addr, _, n = spec.rpartition(":")
    tempfail[addr.lower()] = int(n)
reject = {a.lower() for a in args.reject}
counter = itertools.count(1)
accepted = 0
data_count = itertools.count(1)
log = open(os.path.join(args.dir, "attempts.log"), "a", buffering=1)


class Handler:
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        if args.refuse_session:
            return ["554 5.7.1 This server does not accept mail from you"]
        session.host_name = hostname
        if not args.no_pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        if args.refuse_session:
            return "554 5.7.1 This server does not accept mail from you"
        session.host_name = hostname
        return "250 %s" % server.hostname

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        log.write(f"MAIL {address} {' '.join(mail_options)}\n".replace(" \n", "\n"))
        if args.refuse_sender:
            return "553 5.7.1 <%s>: Sender address rejected: not owned by user" % address
        if args.defer_sender:
            return "451 4.3.0 Sending quota exhausted for now"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        addr = address.lower()
        if addr in reject or args.reject_all:
            log.write(f"{addr} 550\n")
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if args.rcpt_421:
            log.write(f"{addr} 421\n")
            # The reply is written before the loop runs this: then the door closes.
            asyncio.get_running_loop().call_soon(server.transport.close)
            return "421 4.7.0 Too many connections, closing"
        if 0 <= args.quota <= accepted:
            log.write(f"{addr} 451\n")
            return "451 4.7.1 <%s>: Hourly sending quota exceeded, try again later" % address
        if tempfail.get(addr, 0) > 0:
            tempfail[addr] -= 1
            log.write(f"{addr} 451\n")
            return "451 4.7.1 <%s>: Greylisted, try again later" % address
        log.write(f"{addr} 250\n")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if args.delay:
            await asyncio.sleep(args.delay)
        n = next(data_count)
        if (args.throttle_every and n % args.throttle_every == 0) or n <= args.throttle_first:
            log.write(f"DATA {n} 421\n")
            return "421 4.7.0 Too many messages, slow down"
        if args.refuse_content:
            log.write(f"DATA {n} 554\n")
            return "554 5.6.0 Message rejected: content not accepted"
        global accepted
        accepted += 1
        number = next(counter)
        path = os.path.join(args.dir, f"{number:06d}.eml")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(b"X-Test-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, path)
        if args.reply_delay:
            await asyncio.sleep(args.reply_delay)
        if args.drop_after_data and n == args.drop_after_data:
            server.transport.abort()
            return None
        return "250 2.0.0 Ok: queued as %06d" % number


def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword
    log.write(f"AUTH {mechanism}{' over TLS' if session.ssl else ''}\n")
    user, _, password = args.auth.partition(":")
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


open_connections = 0


class LimitedSMTP(SMTP):
    """Greets with 421 beyond --max-connections open at once."""

    async def _handle_client(self):
        global open_connections
        open_connections += 1
        try:
            if args.max_connections and open_connections > args.max_connections:
                log.write("CONNECT 421\n")
                await self.push("421 4.7.0 Too many concurrent SMTP connections from this IP, try again later")
                self.transport.close()
                return
            await super()._handle_client()
        finally:
            open_connections -= 1


class LimitedController(Controller):
    def factory(self):
        return LimitedSMTP(self.handler, **self.SMTP_kwargs)


server_kwargs = {"enable_SMTPUTF8": not args.no_smtputf8}
if args.starttls:
    import ssl
    cert, _, key = args.starttls.partition(":")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server_kwargs.update(tls_context=context)
if args.auth:
    server_kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=False)
controller = LimitedController(Handler(), hostname="127.0.0.1", port=args.port, data_size_limit=args.size_limit,
                        server_kwargs=server_kwargs)
controller.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    controller.stop()
