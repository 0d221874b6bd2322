// A single-page app in a real browser against a real authd: headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. This process serves two loopback origins:
//
//   SPA  = http://127.0.0.1:<spa_port>   the app's origin: its redirect URI SPA/cb is
//                                         registered for the public client <client_id>
//   EVIL = http://127.0.0.1:<evil_port>  an origin no app registered
//
//   node spa_cors.mjs CONFIG.json
//
// CONFIG: {"issuer", "spa_port", "evil_port", "client_id", "user": {"username", "password"}}
//
// The app's page runs the authorization code flow with PKCE (S256) itself: it sends the
// browser to /authorize, the person logs in and consents, and back on SPA/cb the page
// exchanges the code by fetch() at /token, refreshes by fetch(), calls /userinfo by GET
// and by POST with the bearer token, revokes the refresh token at /revoke, and then
// sees the refresh refused (invalid_grant) and the access token refused (401): every
// answer readable from the page. The page on EVIL calls /token and /userinfo by fetch()
// and must see the browser refuse both (a TypeError: the CORS check failed), while a
// fetch of the discovery document (public, "*") works there.
// Prints "ok: ..." per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import http from 'node:http';
import {
  WAIT_MS, HASH_WAIT_MS, ok, fail, check, failures, Stop, must, launchChromium,
} from './checks.mjs';


const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issuer = cfg.issuer;
const spaOrigin = `http://127.0.0.1:${cfg.spa_port}`;
const evilOrigin = `http://127.0.0.1:${cfg.evil_port}`;

// ---- the pages ---------------------------------------------------------------------------

// The app: one page for its start (/) and its redirect URI (/cb). Everything it learns
// goes into #result as JSON once it is done.
const spaScript = `
const issuer = ${JSON.stringify(issuer)};
const clientId = ${JSON.stringify(cfg.client_id)};
const redirectUri = location.origin + '/cb';
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const form = (o) => ({ method: 'POST', body: new URLSearchParams(o),
  headers: { 'content-type': 'application/x-www-form-urlencoded' } });

// One fetch: its status and JSON body, or the error the browser raised.
async function call(url, init) {
  try {
    const r = await fetch(url, init);
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    return { status: r.status, body, wwwAuthenticate: r.headers.get('www-authenticate') };
  } catch (e) {
    return { error: e.name + ': ' + e.message };
  }
}

async function start() {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state }));
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId,
    redirect_uri: redirectUri, scope: 'openid profile', state, nonce: state,
    code_challenge: challenge, code_challenge_method: 'S256' });
  location.assign(issuer + '/authorize?' + q);
}

async function callback() {
  const out = {};
  const q = new URLSearchParams(location.search);
  const p = JSON.parse(sessionStorage.getItem('pkce') || '{}');
  out.state_ok = q.get('state') === p.state;
  out.iss = q.get('iss');
  out.code = await call(issuer + '/token', form({ grant_type: 'authorization_code',
    client_id: clientId, code: q.get('code') || '', redirect_uri: redirectUri,
    code_verifier: p.verifier || '' }));
  const t1 = (out.code.body || {});
  out.refresh = await call(issuer + '/token', form({ grant_type: 'refresh_token',
    client_id: clientId, refresh_token: t1.refresh_token || '' }));
  const t2 = (out.refresh.body || {});
  const bearer = { authorization: 'Bearer ' + (t2.access_token || '') };
  out.userinfo_get = await call(issuer + '/userinfo', { headers: bearer });
  out.userinfo_post = await call(issuer + '/userinfo', { method: 'POST', headers: bearer });
  out.revoke = await call(issuer + '/revoke', form({ client_id: clientId,
    token: t2.refresh_token || '', token_type_hint: 'refresh_token' }));
  out.refresh_after_revoke = await call(issuer + '/token', form({
    grant_type: 'refresh_token', client_id: clientId, refresh_token: t2.refresh_token || '' }));
  out.userinfo_after_revoke = await call(issuer + '/userinfo', { headers: bearer });
  document.getElementById('result').textContent = JSON.stringify(out);
}

(location.pathname === '/cb' ? callback() : start()).catch((e) => {
  document.getElementById('result').textContent = JSON.stringify({ script_error: String(e) });
});
`;

// The other origin: the same calls, which the browser must refuse.
const evilScript = `
const issuer = ${JSON.stringify(issuer)};
async function call(url, init) {
  try {
    const r = await fetch(url, init);
    return { status: r.status };
  } catch (e) {
    return { error: e.name + ': ' + e.message };
  }
}
(async () => {
  const out = {};
  out.discovery = await call(issuer + '/.well-known/openid-configuration');
  out.token = await call(issuer + '/token', { method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token',
      client_id: ${JSON.stringify(cfg.client_id)}, refresh_token: 'x'.repeat(43) }) });
  out.userinfo = await call(issuer + '/userinfo', { headers: { authorization: 'Bearer x.y.z' } });
  out.revoke = await call(issuer + '/revoke', { method: 'POST',
    body: new URLSearchParams({ client_id: ${JSON.stringify(cfg.client_id)}, token: 'x' }) });
  document.getElementById('result').textContent = JSON.stringify(out);
})();
`;

function page(title, script) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
    `</head><body><h1>${title}</h1><pre id="result"></pre><script>${script}</script></body></html>`;
}

function server(origin, html, paths) {
  return http.createServer((req, res) => {
    const url = new URL(req.url, origin);
    if (req.method !== 'GET' || !paths.includes(url.pathname)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return res.end('not found');
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  });
}

const spa = server(spaOrigin, page('SPA', spaScript), ['/', '/cb']);
const evil = server(evilOrigin, page('Elsewhere', evilScript), ['/']);

// ---- the browser ---------------------------------------------------------------------------

let pg;
const here = () => new URL(pg.url());
const onAuthd = (p) => (u) => u.origin === new URL(issuer).origin && u.pathname === p;
const onSpa = (p) => (u) => u.origin === spaOrigin && u.pathname === p;

// The JSON a page put in #result (bounded wait).
async function result() {
  await pg.waitForFunction(() => document.getElementById('result').textContent !== '',
    null, { timeout: WAIT_MS });
  return JSON.parse(await pg.innerText('#result'));
}

const refused = (r) => r && typeof r.error === 'string' && r.error.startsWith('TypeError');

async function scenario() {
  // 1. The app sends the browser to /authorize; the person logs in and consents.
  await pg.goto(`${spaOrigin}/`, { waitUntil: 'load' });
  await pg.waitForURL(onAuthd('/login'), { waitUntil: 'load' });
  ok('the app sent the browser to /authorize, which asks for a login');
  await pg.fill('#username', cfg.user.username);
  await pg.fill('#password', cfg.user.password);
  await pg.click('form[action="/login"] button[type="submit"]');
  const cb = onSpa('/cb');
  const consent = onAuthd('/consent');
  await pg.waitForURL((u) => cb(u) || consent(u), { timeout: HASH_WAIT_MS, waitUntil: 'load' });
  if (consent(here())) {
    await Promise.all([
      pg.waitForURL(cb, { waitUntil: 'load' }),
      pg.click('button[name="action"][value="allow"]'),
    ]);
  }
  must(cb(here()), 'back at the app\'s redirect URI', pg.url());

  // 2. What the page's fetch() calls got.
  const r = await result();
  must(!r.script_error, 'the app\'s page ran', r.script_error);
  check(r.state_ok && r.iss === issuer, 'the redirect carries the app\'s state and iss', JSON.stringify(r));
  const code = r.code || {};
  must(code.status === 200 && code.body && code.body.access_token && code.body.refresh_token &&
    code.body.id_token, 'fetch() /token: the code exchanged (PKCE)', JSON.stringify(code));
  const rf = r.refresh || {};
  check(rf.status === 200 && rf.body && rf.body.access_token && rf.body.refresh_token &&
    rf.body.refresh_token !== code.body.refresh_token, 'fetch() /token: refreshed (rotated)',
  JSON.stringify(rf));
  for (const k of ['userinfo_get', 'userinfo_post']) {
    const u = r[k] || {};
    check(u.status === 200 && u.body && typeof u.body.sub === 'string' && u.body.sub.length > 0,
      `fetch() /userinfo (${k === 'userinfo_get' ? 'GET' : 'POST'}) with the bearer token`,
      JSON.stringify(u));
  }
  check(r.revoke && r.revoke.status === 200, 'fetch() /revoke: the refresh token revoked',
    JSON.stringify(r.revoke));
  const again = r.refresh_after_revoke || {};
  check(again.status === 400 && again.body && again.body.error === 'invalid_grant',
    'fetch() /token after /revoke: invalid_grant, readable by the app', JSON.stringify(again));
  const ua = r.userinfo_after_revoke || {};
  check(ua.status === 401 && /invalid_token/.test(ua.wwwAuthenticate || ''),
    'fetch() /userinfo after /revoke: 401 invalid_token, readable by the app', JSON.stringify(ua));

  // 3. The other origin: the browser refuses what authd does not allow it.
  await pg.goto(`${evilOrigin}/`, { waitUntil: 'load' });
  const e = await result();
  check(e.discovery && e.discovery.status === 200,
    'another origin: fetch() of the discovery document works ("*")', JSON.stringify(e.discovery));
  check(refused(e.token), 'another origin: fetch() /token refused by the browser', JSON.stringify(e.token));
  check(refused(e.userinfo), 'another origin: fetch() /userinfo refused by the browser (preflight)',
    JSON.stringify(e.userinfo));
  check(refused(e.revoke), 'another origin: fetch() /revoke refused by the browser',
    JSON.stringify(e.revoke));
}

async function listen(srv, port) {
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
}

async function main() {
  let browser;
  try {
    await listen(spa, cfg.spa_port);
    await listen(evil, cfg.evil_port);
    browser = await launchChromium(WAIT_MS);
    const ctx = await browser.newContext({ locale: 'zh-CN' });
    ctx.setDefaultTimeout(WAIT_MS);
    ctx.setDefaultNavigationTimeout(WAIT_MS);
    pg = await ctx.newPage();
    pg.on('pageerror', (err) => fail(`page error: ${err.message}`));
    await scenario();
  } catch (err) {
    if (!(err instanceof Stop)) fail(`scenario stopped: ${err.message}`);
    if (pg) console.log(`  at ${pg.url()}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const s of [spa, evil]) {
      s.closeAllConnections?.();
      s.close();
    }
  }
  process.exit(failures() ? 1 : 0);
}

main();
