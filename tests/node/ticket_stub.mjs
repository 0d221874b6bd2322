// A stand-in for a provincial platform's ticket login, for
// tests/integration/upstream_ticket.sh (node's standard library only):
//   GET /login?appId=A&service=URL   sends the browser back to URL with ticket=ST-n
//   POST /validate                   appId, ticket, service, timestamp, nonce, sign (the
//                                    HMAC of the other fields sorted by name, "k=v" joined
//                                    by "&", keyed with the app's secret: SHA-256 for app
//                                    hall, SM3 for app hallsm3; for app hallsm2 the
//                                    base64 DER SM2/SM3 signature with the distinguishing
//                                    ID 1234567812345678, checked with the public key
//                                    SM2_PUB by the openssl command), checked honestly;
//                                    then as the file MODE_FILE says:
//     ok       {"code": "0", "data": {"user": {"id": "t1", "idCard": ID, "name": "王小明"}}}
//              once per ticket; a ticket used before: {"code": "1001", "msg": "ticket used"}
//     timeout  waits 4 s first
//     500      status 500
//   a bad signature: {"code": "1002", "msg": "bad signature"}; a ticket it never issued:
//   {"code": "1003", "msg": "unknown ticket"}
// Every request is appended to LOG_FILE as one JSON line (path, the Authorization and
// Content-Type headers, the body: at most 64 KiB of its Content-Length), and the mode is
// read from MODE_FILE on each request. Serves on 127.0.0.1:PORT, one response a connection.
// Usage: node ticket_stub.mjs PORT MODE_FILE LOG_FILE ID SECRET [SM2_PUB]
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const [PORT, MODE_FILE, LOG_FILE, ID, SECRET, SM2_PUB] = process.argv.slice(2);
if (SECRET === undefined) {
  process.stderr.write('usage: ticket_stub.mjs PORT MODE_FILE LOG_FILE ID SECRET [SM2_PUB]\n');
  process.exit(2);
}
const BODY_MAX = 65536;
const DIGEST = { hall: 'sha256', hallsm3: 'sm3' };
const USED = new Set();
const ISSUED = new Set();
let count = 0;

// An object as one JSON text in the shape the platform's logs and answers take
// ("k": v, separated by ", "; non-ASCII text as it is).
function dumps(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  return '{' + Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${dumps(x)}`).join(', ') + '}';
}

// A query string or form body as a Map: "&"-separated k=v pairs, "+" a space, %XX
// decoded as UTF-8; a pair without "=" or with an empty value is left out; the last of a
// repeated name wins.
function parseForm(s) {
  const form = new Map();
  for (const pair of s.split('&')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || eq === pair.length - 1) continue;
    for (const [k, v] of new URLSearchParams(pair)) form.set(k, v);
  }
  return form;
}

// Compares two strings by code point (the order the signed base sorts names in).
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// Reads the request's body, logs the request and resolves to the mode of MODE_FILE now.
function takeRequest(req) {
  const want = Math.min(Number.parseInt(req.headers['content-length'] || '0', 10) || 0, BODY_MAX);
  return new Promise((resolve, reject) => {
    const parts = [];
    let got = 0;
    req.on('data', (c) => {
      if (got < want) parts.push(c.subarray(0, want - got));
      got += c.length;
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        const body = Buffer.concat(parts).toString('utf8');
        const mode = fs.readFileSync(MODE_FILE, 'utf8').trim();
        fs.appendFileSync(LOG_FILE, dumps({
          path: req.url, auth: req.headers.authorization || '',
          ctype: req.headers['content-type'] || '', body,
        }) + '\n');
        resolve({ mode, body });
      } catch (e) {
        reject(e);
      }
    });
  });
}

// Answers status with the JSON text data; a client that left is no error.
function answer(res, status, data) {
  const b = Buffer.from(data, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8', 'Content-Length': b.length, Connection: 'close',
  });
  res.end(b);
}

// Strict base64 (the standard alphabet, whole quads, "=" only as padding) to bytes, or null.
function b64Strict(s) {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) return null;
  return Buffer.from(s, 'base64');
}

// Resolves to the openssl command's verdict on the SM2 signature sig (base64 DER) of base.
function sm2Ok(base, sig) {
  const bytes = b64Strict(sig);
  if (bytes === null) return Promise.resolve(false);
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ticket-stub-'));
  const m = path.join(d, 'm');
  const g = path.join(d, 's');
  fs.writeFileSync(m, base, 'utf8');
  fs.writeFileSync(g, bytes);
  return new Promise((resolve) => {
    execFile('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', SM2_PUB, '-rawin', '-digest', 'sm3',
      '-in', m, '-sigfile', g, '-pkeyopt', 'distid:1234567812345678'], (err) => {
      fs.rmSync(d, { recursive: true, force: true });
      resolve(!err);
    });
  });
}

// Whether the form's sign is the right signature of base for its appId.
async function signatureGood(form, base) {
  const sign = form.get('sign') ?? '';
  if (form.get('appId') === 'hallsm2') return SM2_PUB !== undefined && sm2Ok(base, sign);
  const want = crypto.createHmac(DIGEST[form.get('appId')] ?? 'sha256', SECRET).update(base, 'utf8').digest('hex');
  const a = Buffer.from(want, 'utf8');
  const b = Buffer.from(sign, 'utf8');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

// GET: the login page, which sends the browser straight back to service with a new ticket.
async function login(req, res) {
  await takeRequest(req);
  const u = req.url.split('#')[0];
  const q = parseForm(u.includes('?') ? u.slice(u.indexOf('?') + 1) : '');
  count += 1;
  const svc = q.get('service') ?? '';
  ISSUED.add(`ST-${count}`);
  res.writeHead(302, { Location: `${svc}${svc.includes('?') ? '&' : '?'}ticket=ST-${count}`,
    'Content-Length': 0, Connection: 'close' });
  res.end();
}

// POST: the ticket's validation, signature first.
async function validate(req, res) {
  const { mode, body } = await takeRequest(req);
  const form = parseForm(body);
  if (mode === 'timeout') await new Promise((r) => setTimeout(r, 4000));
  if (mode === '500') return answer(res, 500, '{"code":"500"}');
  const base = [...form.keys()].filter((k) => k !== 'sign').sort(byCodePoint)
    .map((k) => `${k}=${form.get(k)}`).join('&');
  if (!(await signatureGood(form, base))) return answer(res, 200, '{"code":"1002","msg":"bad signature"}');
  const t = form.get('ticket') ?? '';
  if (!ISSUED.has(t)) return answer(res, 200, '{"code":"1003","msg":"unknown ticket"}');
  if (USED.has(t)) return answer(res, 200, '{"code":"1001","msg":"ticket used"}');
  USED.add(t);
  return answer(res, 200, dumps({ code: '0', data: { user: { id: 't1', idCard: ID, name: '王小明' } } }));
}

const server = http.createServer((req, res) => {
  const handle = req.method === 'GET' ? login : req.method === 'POST' ? validate : null;
  if (handle === null) {
    req.resume();
    return answer(res, 501, '{"code":"501","msg":"unsupported method"}');
  }
  handle(req, res).catch((e) => {
    process.stderr.write(`ticket_stub: ${req.method} ${req.url}: ${e.stack || e}\n`);
    res.destroy();
  });
});
server.listen(Number(PORT), '127.0.0.1');
