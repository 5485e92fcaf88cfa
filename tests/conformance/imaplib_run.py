#!/usr/bin/python3
"""The reference side of the conformance test: runs CALLs with Python's
imaplib and prints repr() of each result, exactly as imap4(1) is specified
to.  Same command line as imap4: [-o OPTIONS] URL CALL..."""
import getopt
import imaplib
import os
import shlex
import ssl
import sys
import urllib.parse


def parse_options(text, opts):
    for item in text.split(','):
        key, _, value = item.partition('=')
        opts[key] = value if _ else True


def convert(word):
    if word == 'None':
        return None
    if word == 'True':
        return True
    if word == 'False':
        return False
    if word.startswith('@'):
        with open(word[1:], 'rb') as f:
            return f.read()
    return word


def authobject(mech, user, secret):
    mech = mech.upper()
    steps = iter([user, secret])
    if mech == 'PLAIN':
        return lambda challenge: b'\0' + user.encode() + b'\0' + secret.encode()
    if mech == 'XOAUTH2':
        return lambda challenge: ('user=%s\1auth=Bearer %s\1\1' % (user, secret)).encode()
    if mech == 'CRAM-MD5':
        import hmac
        return lambda challenge: user + ' ' + hmac.HMAC(secret.encode(), challenge, 'md5').hexdigest()
    if mech == 'LOGIN':
        return lambda challenge: next(steps)
    raise imaplib.IMAP4.error('unknown mechanism %s' % mech)


ATTRIBUTES = ('capabilities', 'PROTOCOL_VERSION', 'state', 'utf8_enabled')


def run_call(M, text):
    words = shlex.split(text)
    name, args = words[0], [convert(w) for w in words[1:]]
    if name in ATTRIBUTES:
        return repr(getattr(M, name))
    if name == 'authenticate':
        return repr(M.authenticate(args[0], authobject(*args)))
    if name == 'append' and isinstance(args[3], str):
        args[3] = args[3].encode()
    if name == 'send' and isinstance(args[0], str):
        args[0] = args[0].encode()
    if name == 'read':
        args[0] = int(args[0])
    return repr(getattr(M, name)(*args))


def main():
    opts = {}
    optlist, rest = getopt.getopt(sys.argv[1:], 'o:d:')
    for flag, value in optlist:
        if flag == '-o':
            parse_options(value, opts)
    url = urllib.parse.urlsplit(rest[0])
    context = ssl.create_default_context(cafile=opts.get('cafile'))
    if 'command' in opts:
        M = imaplib.IMAP4_stream(opts['command'])
    elif url.scheme == 'imaps':
        M = imaplib.IMAP4_SSL(url.hostname, url.port or 993, ssl_context=context)
    else:
        M = imaplib.IMAP4(url.hostname, url.port or 143)
        if opts.get('tls') != 'none':
            M.starttls(context)
    if url.username:
        password = os.environ.get('IMAPFS_PASSWORD')
        if 'passfile' in opts:
            with open(opts['passfile']) as f:
                password = f.readline().rstrip('\r\n')
        M.login(urllib.parse.unquote(url.username), password)
    status = 0
    for text in rest[1:]:
        try:
            print(run_call(M, text), flush=True)
        except imaplib.IMAP4.readonly as e:
            print('readonly: %s' % e, flush=True)
            status = 1
        except imaplib.IMAP4.abort as e:
            print('abort: %s' % e, flush=True)
            status = 1
        except (imaplib.IMAP4.error, AttributeError) as e:
            # AttributeError: no such method ("Unknown IMAP4 command: ...")
            print('error: %s' % e, flush=True)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
