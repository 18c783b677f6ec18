// A real SMTP server (nodemailer's smtp-server) for Tenantry's mail tests,
// on loopback. Configured by the environment:
//
//   SMTP_PORT   port to listen on 127.0.0.1 (0 or unset: any free port)
//   SMTP_TLS    none      plain text, STARTTLS not offered
//               starttls  STARTTLS offered; MAIL FROM before it gets 530
//               implicit  TLS from the first byte (SMTPS)
//   SMTP_CERT, SMTP_KEY  PEM files of the certificate (starttls, implicit)
//   SMTP_USER, SMTP_PASS when set, AUTH PLAIN or LOGIN with exactly these is
//               required (anything else gets 535); unset: no AUTH at all
//   SMTP_MODE   accept (default), or refuse: every RCPT TO gets a permanent
//               "550 5.1.1 mailbox unavailable"
//
// Prints one JSON line `{"port": <port>}` once it listens, then one line
// `{"mail": {"from", "to", "user", "secure", "raw"}}` per message received
// (before the client hears 250, so a client that saw its mail accepted can
// wait for that line). Errors go to stderr.

import fs from 'node:fs';
import { SMTPServer } from 'smtp-server';

const env = process.env;
const TLS = env.SMTP_TLS || 'none';
const MODE = env.SMTP_MODE || 'accept';
const AUTH = env.SMTP_USER !== undefined ? { user: env.SMTP_USER, pass: env.SMTP_PASS ?? '' } : null;
// Mails bigger than this are refused (552) rather than buffered.
const MAX_SIZE = 10 * 1024 * 1024;

const fail = (message) => {
  process.stderr.write(`smtp/server.mjs: ${message}\n`);
  process.exit(2);
};

if (!['none', 'starttls', 'implicit'].includes(TLS)) fail(`SMTP_TLS must be none, starttls or implicit, not ${TLS}`);
if (!['accept', 'refuse'].includes(MODE)) fail(`SMTP_MODE must be accept or refuse, not ${MODE}`);

const port = Number(env.SMTP_PORT || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`SMTP_PORT is not a port: ${env.SMTP_PORT}`);

/** The certificate and key, for the modes that speak TLS. */
const certificate = () => {
  if (TLS === 'none') return {};
  if (!env.SMTP_CERT || !env.SMTP_KEY) fail(`SMTP_TLS=${TLS} needs SMTP_CERT and SMTP_KEY`);
  try {
    return { cert: fs.readFileSync(env.SMTP_CERT), key: fs.readFileSync(env.SMTP_KEY) };
  } catch (e) {
    return fail(`cannot read the certificate: ${e.message}`);
  }
};

/** An error the client hears as `<code> <enhanced code> <message>`. */
const smtpError = (code, message) => Object.assign(new Error(message), { responseCode: code });

const print = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

const disabledCommands = [];
if (TLS !== 'starttls') disabledCommands.push('STARTTLS');
if (!AUTH) disabledCommands.push('AUTH');

const server = new SMTPServer({
  ...certificate(),
  secure: TLS === 'implicit',
  name: 'localhost',
  banner: 'Tenantry test SMTP',
  logger: false,
  // Replies carry RFC 3463 codes ("550 5.1.1 ..."), as real servers' do.
  hideENHANCEDSTATUSCODES: false,
  size: MAX_SIZE,
  rejectOversized: true,
  disabledCommands,
  authMethods: ['PLAIN', 'LOGIN'],
  authOptional: !AUTH,

  onAuth(auth, _session, callback) {
    if (auth.username === AUTH.user && auth.password === AUTH.pass) {
      return callback(null, { user: auth.username });
    }
    return callback(smtpError(535, 'authentication credentials invalid'));
  },

  onMailFrom(_address, session, callback) {
    if (TLS === 'starttls' && !session.secure) {
      return callback(smtpError(530, 'must issue a STARTTLS command first'));
    }
    return callback();
  },

  onRcptTo(_address, _session, callback) {
    if (MODE === 'refuse') return callback(smtpError(550, 'mailbox unavailable'));
    return callback();
  },

  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', callback);
    stream.on('end', () => {
      // Oversized mail is refused by the server itself (rejectOversized).
      if (stream.sizeExceeded) return callback();
      const { mailFrom, rcptTo } = session.envelope;
      print({
        mail: {
          from: mailFrom ? mailFrom.address : '',
          to: rcptTo.map((rcpt) => rcpt.address),
          user: session.user || null,
          secure: !!session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        },
      });
      return callback();
    });
  },
});

// A client that hangs up mid-handshake and the like: worth a line, not fatal.
server.on('error', (e) => {
  if (e.syscall !== 'listen') process.stderr.write(`smtp/server.mjs: ${e.message}\n`);
});

// A port taken or refused is fatal; errors of single connections are not.
server.server.once('error', (e) => fail(`cannot listen on 127.0.0.1:${port}: ${e.message}`));

server.listen(port, '127.0.0.1', () => print({ port: server.server.address().port }));

const stop = () => {
  // Open connections are cut after a second rather than waited for.
  setTimeout(() => process.exit(0), 1000).unref();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
