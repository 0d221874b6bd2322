// Browser-side load for tests/bench/bench_oidc.sh: the flows wrk cannot chain by itself.
//
//   node bench_oidc_flows.mjs prepare CONFIG.json   logs each user in once (GET + POST
//       /login, real form and CSRF token), allows consent for the web app, opens
//       `sessions` sessions (round robin over the users) and mints `refresh_tokens`
//       refresh tokens through full code flows; writes OUT/sessions.txt (one yh_sid
//       cookie a line) and OUT/refresh.txt (one refresh token a line). Prints a JSON line.
//   node bench_oidc_flows.mjs sso CONFIG.json       `concurrency` chains for `seconds`: GET
//       /authorize with a session cookie -> 302 with code -> POST /token (client_secret_
//       basic, PKCE S256). One round trip = both requests; its latency is measured whole.
//   node bench_oidc_flows.mjs login CONFIG.json     `concurrency` chains for `seconds`, each
//       login a fresh browser: GET /login (new yh_csrf cookie + token) -> POST /login ->
//       303 with a yh_sid cookie. Latency = both requests.
//
// CONFIG: {"issuer", "out", "client_id", "client_secret", "redirect_uri",
//          "users": [{"username","password"}...], "sessions", "refresh_tokens",
//          "concurrency", "seconds", "grace"}
// sso and login print one JSON line: {"ok","errors","unfinished","busy","seconds","rate",
// "p50_ms","p99_ms","busy_p99_ms","first_error"} (rate: completed inside the window /
// seconds; see load() for "unfinished" and "busy"; optional CONFIG "grace", seconds).
// Connections are kept alive (one http.Agent, maxSockets = concurrency).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const [mode, cfgPath] = process.argv.slice(2);
if (!mode || !cfgPath) {
  console.error('usage: node bench_oidc_flows.mjs prepare|sso|login CONFIG.json');
  process.exit(2);
}
const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
const base = new URL(cfg.issuer);
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency || 32 });
const basic = 'Basic ' + Buffer.from(
  `${encodeURIComponent(cfg.client_id)}:${encodeURIComponent(cfg.client_secret)}`,
).toString('base64');

// One HTTP request on the shared agent: {status, headers, body}.
function request(method, pathAndQuery, headers = {}, body = null) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname, port: base.port, method, path: pathAndQuery, agent,
      headers: body != null ? { ...headers, 'content-length': Buffer.byteLength(body) } : headers,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error('timeout')));
    if (body != null) req.write(body);
    req.end();
  });
}

// The value of cookie name among a response's Set-Cookie headers, or null.
function cookieOf(res, name) {
  for (const c of res.headers['set-cookie'] || []) {
    const pair = c.split(';')[0];
    const i = pair.indexOf('=');
    if (pair.slice(0, i).trim() === name) return pair.slice(i + 1).trim();
  }
  return null;
}

const unescapeHtml = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (m, e) => {
  const k = e.toLowerCase();
  const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  if (named[k]) return named[k];
  return String.fromCodePoint(k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10));
});
const csrfOf = (html) => {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  return m ? unescapeHtml(m[1]) : null;
};
const form = (o) => new URLSearchParams(o).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

// A login the server refused at once because its hashing queue was full: 503 with
// Retry-After, the answer a storm is meant to get (load() counts these apart).
class Busy extends Error {}

// One password login as a fresh browser; returns the yh_sid cookie value.
async function login(user, next = '/account') {
  const page = await request('GET', `/login?next=${encodeURIComponent(next)}`,
    { 'accept-language': 'zh-CN' });
  const csrfCookie = cookieOf(page, 'yh_csrf');
  const token = csrfOf(page.body);
  if (page.status !== 200 || !csrfCookie || !token) {
    throw new Error(`GET /login: HTTP ${page.status}, csrf cookie ${!!csrfCookie}, token ${!!token}`);
  }
  const res = await request('POST', '/login', { ...FORM, cookie: `yh_csrf=${csrfCookie}` },
    form({ csrf: token, next, username: user.username, password: user.password }));
  const sid = cookieOf(res, 'yh_sid');
  if (res.status === 503 && res.headers['retry-after'] !== undefined && !sid) {
    throw new Busy(`POST /login: HTTP 503, Retry-After ${res.headers['retry-after']}`);
  }
  if (res.status !== 303 || !sid) {
    throw new Error(`POST /login: HTTP ${res.status}${sid ? '' : ' without yh_sid'}: ` +
      res.body.replace(/\s+/g, ' ').slice(0, 200));
  }
  return sid;
}

// A fixed PKCE pair: the server does the same work whatever the verifier.
const verifier = crypto.randomBytes(32).toString('base64url');
const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');

function authorizeQuery() {
  return '/authorize?' + form({
    response_type: 'code', client_id: cfg.client_id, redirect_uri: cfg.redirect_uri,
    scope: 'openid profile', state: crypto.randomBytes(9).toString('base64url'),
    nonce: crypto.randomBytes(9).toString('base64url'),
    code_challenge: challenge, code_challenge_method: 'S256',
  });
}

// GET /authorize with a session; returns the code (throws on anything else).
async function authorize(sid) {
  const res = await request('GET', authorizeQuery(), { cookie: `yh_sid=${sid}` });
  const loc = res.headers.location || '';
  if (res.status !== 302 || !loc.startsWith(cfg.redirect_uri)) {
    throw new Error(`GET /authorize: HTTP ${res.status} to ${loc.slice(0, 120)}`);
  }
  const u = new URL(loc);
  if (!u.searchParams.get('code')) throw new Error(`GET /authorize: no code: ${loc.slice(0, 200)}`);
  return u.searchParams.get('code');
}

// POST /token for a code; returns the parsed token response.
async function redeem(code) {
  const res = await request('POST', '/token', { ...FORM, authorization: basic },
    form({ grant_type: 'authorization_code', code, redirect_uri: cfg.redirect_uri,
      code_verifier: verifier }));
  if (res.status !== 200) throw new Error(`POST /token: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
  const t = JSON.parse(res.body);
  if (!t.id_token || !t.access_token) throw new Error('POST /token: no id_token or access_token');
  return t;
}

// Grants consent for the web app as the user with session sid (the consent form).
async function consent(sid) {
  const res = await request('GET', authorizeQuery(), { cookie: `yh_sid=${sid}` });
  const loc = res.headers.location || '';
  if (res.status === 302 && loc.startsWith(cfg.redirect_uri)) return;   /* already given */
  if (res.status !== 302 || !loc.startsWith('/consent')) {
    throw new Error(`consent: /authorize answered ${res.status} to ${loc.slice(0, 120)}`);
  }
  const page = await request('GET', loc, { cookie: `yh_sid=${sid}` });
  // The consent form's token is bound to the session (yh_sid), not to a yh_csrf cookie.
  const token = csrfOf(page.body);
  const next = /name="next" value="([^"]*)"/.exec(page.body);
  if (page.status !== 200 || !token || !next) {
    throw new Error(`GET /consent: HTTP ${page.status}`);
  }
  const done = await request('POST', '/consent',
    { ...FORM, cookie: `yh_sid=${sid}` },
    form({ csrf: token, next: unescapeHtml(next[1]), action: 'allow' }));
  if (done.status !== 303 && done.status !== 302) throw new Error(`POST /consent: HTTP ${done.status}`);
}

// Runs `concurrency` chains of one() for `seconds`; returns the figures. The rate counts
// what completed inside the window. A Busy answer is not an error: it is counted in
// `busy`, its latency in busy_p99_ms, and the chain goes on as after an error. Requests
// still in flight at the window's end are waited for up to `grace` seconds (default 2);
// those still unfinished then are counted as such and their age so far enters the
// latencies (a slow tail must not vanish from p99), and the process exits without
// waiting for them.
async function load(one) {
  const lat = [];
  const busyLat = [];
  const inflight = new Map();
  let errors = 0;
  let inWindow = 0;
  let firstError = null;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(cfg.seconds * 1e9));
  const chain = async (i) => {
    for (let n = 0; process.hrtime.bigint() < end; n++) {
      const s = process.hrtime.bigint();
      inflight.set(i, s);
      try {
        await one(i, n);
        const e = process.hrtime.bigint();
        lat.push(Number(e - s) / 1e6);
        if (e <= end) inWindow++;
      } catch (e) {
        if (e instanceof Busy) {
          busyLat.push(Number(process.hrtime.bigint() - s) / 1e6);
        } else {
          errors++;
          if (!firstError) firstError = String(e.message || e);
        }
        await new Promise((r) => setTimeout(r, 10));   // no busy loop on a broken server
      } finally {
        inflight.delete(i);
      }
    }
  };
  const all = Promise.all(Array.from({ length: cfg.concurrency }, (_, i) => chain(i)));
  const graceMs = (cfg.seconds + (cfg.grace ?? 2)) * 1000;
  await Promise.race([all, new Promise((r) => setTimeout(r, graceMs).unref())]);
  const now = process.hrtime.bigint();
  const unfinished = inflight.size;
  for (const s of inflight.values()) lat.push(Number(now - s) / 1e6);
  lat.sort((a, b) => a - b);
  busyLat.sort((a, b) => a - b);
  const pct = (v, p) => (v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : 0);
  return { ok: lat.length - unfinished, errors, unfinished, busy: busyLat.length,
    seconds: cfg.seconds, rate: +(inWindow / cfg.seconds).toFixed(1),
    p50_ms: +pct(lat, 0.50).toFixed(2), p99_ms: +pct(lat, 0.99).toFixed(2),
    busy_p99_ms: +pct(busyLat, 0.99).toFixed(2), first_error: firstError };
}

async function prepare() {
  const sids = [];
  for (const u of cfg.users) {                 // one login and the consent per user
    const sid = await login(u);
    await consent(sid);
    sids.push(sid);
  }
  while (sids.length < cfg.sessions) {         // more sessions, two logins at a time
    const batch = [];
    for (let k = 0; k < 2 && sids.length + batch.length < cfg.sessions; k++) {
      batch.push(login(cfg.users[(sids.length + batch.length) % cfg.users.length]));
    }
    sids.push(...await Promise.all(batch));
  }
  const rts = [];
  for (let i = 0; i < cfg.refresh_tokens; i++) {
    const t = await redeem(await authorize(sids[i % sids.length]));
    if (!t.refresh_token) throw new Error('code grant gave no refresh_token');
    rts.push(t.refresh_token);
  }
  fs.writeFileSync(path.join(cfg.out, 'sessions.txt'), sids.join('\n') + '\n', { mode: 0o600 });
  fs.writeFileSync(path.join(cfg.out, 'refresh.txt'), rts.join('\n') + '\n', { mode: 0o600 });
  return { sessions: sids.length, refresh_tokens: rts.length };
}

async function main() {
  let out;
  if (mode === 'prepare') {
    out = await prepare();
  } else if (mode === 'sso') {
    const sids = fs.readFileSync(path.join(cfg.out, 'sessions.txt'), 'utf8').split('\n').filter(Boolean);
    out = await load(async (i) => { await redeem(await authorize(sids[i % sids.length])); });
  } else if (mode === 'login') {
    out = await load(async (i, n) => { await login(cfg.users[(i + n) % cfg.users.length]); });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  console.log(JSON.stringify(out));
  agent.destroy();
  process.exit(0);             // requests left unfinished by load() are abandoned
}

main().catch((e) => {
  console.error(`bench_oidc_flows ${mode}: ${e.message || e}`);
  agent.destroy();
  process.exit(1);
});
