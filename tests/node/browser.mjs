// A real browser against a real authd: headless Chromium (Debian's /usr/bin/chromium)
// driven by playwright-core, and two small relying parties served by this process.
//
//   node browser.mjs CONFIG.json
//
// CONFIG: {"issuer", "rp_port", "authctl", "state_dir", "shots_dir",
//          "user": {"name", "id_number", "phone", "password"},
//          "apps": {"app1": {"client_id", "client_secret"}, "app2": {...}}}
// app1 asks for nothing special; app2 is registered with --min-loa 3. Both are
// confidential clients that also send PKCE (S256), registered with the redirect URI
// RP/<app>/cb, the post-logout URI RP/<app>/bye and the back-channel logout URI
// RP/<app>/bcl, where RP is http://127.0.0.1:<rp_port>.
//
// The scenario: register on the Chinese page; the operator raises the person's LoA to 2
// (authctl user verify); log in through app1 on the Chinese login page (switching the
// language to English and back on the way); enrol TOTP on /account (the base32 key read
// from the page, the code computed here, RFC 6238); app2 (min LoA 3) steps the session up
// through /login/totp and gets acr urn:yihao:loa:3 with amr otp; RP-initiated logout
// reaches both apps' back-channel receivers; app1 then needs the login page again.
// A screenshot of every step goes to shots_dir. Prints "ok: ..." per check and
// "FAIL: ..." per failure; exits 1 on any failure.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as jose from 'jose';
import {
  WAIT_MS, HASH_WAIT_MS, ok, fail, check, must, Stop, failures, launchChromium, base32Decode,
  totp,
} from './checks.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issuer = cfg.issuer;
const rpOrigin = `http://127.0.0.1:${cfg.rp_port}`;

// ---- the relying parties ---------------------------------------------------------------

const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
const pending = new Map();     // state -> {app, nonce, verifier}
const idTokens = {};           // app -> the last ID token
const logoutTokens = {};       // app -> [claims of verified logout tokens]
const logoutStates = new Set();

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const appOf = (name) => cfg.apps[name];
const redirectUri = (name) => `${rpOrigin}/${name}/cb`;

function sendHtml(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>` +
    `</head><body><h1>${esc(title)}</h1>${body}</body></html>`);
}

function start(name, res) {
  const a = appOf(name);
  const state = jose.base64url.encode(crypto.randomBytes(16));
  const nonce = jose.base64url.encode(crypto.randomBytes(16));
  const verifier = jose.base64url.encode(crypto.randomBytes(32));
  const challenge = jose.base64url.encode(crypto.createHash('sha256').update(verifier).digest());
  pending.set(state, { app: name, nonce, verifier });
  const u = new URL(`${issuer}/authorize`);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: a.client_id, redirect_uri: redirectUri(name),
    scope: 'openid profile', state, nonce, code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  res.writeHead(302, { location: u.href, 'cache-control': 'no-store' });
  res.end();
}

async function callback(name, url, res) {
  const a = appOf(name);
  const q = url.searchParams;
  const p = pending.get(q.get('state') || '');
  if (!p || p.app !== name) return sendHtml(res, 400, 'bad state', '<p id="error">unknown state</p>');
  pending.delete(q.get('state'));
  if (q.get('error')) {
    return sendHtml(res, 400, `${name}: error`,
      `<p id="error">${esc(q.get('error'))}: ${esc(q.get('error_description') || '')}</p>`);
  }
  if (q.get('iss') !== issuer) return sendHtml(res, 400, 'bad iss', `<p id="error">iss ${esc(q.get('iss'))}</p>`);
  const basic = Buffer.from(`${encodeURIComponent(a.client_id)}:${encodeURIComponent(a.client_secret)}`).toString('base64');
  const tr = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: q.get('code') || '', redirect_uri: redirectUri(name),
      code_verifier: p.verifier,
    }).toString(),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  const tok = await tr.json().catch(() => ({}));
  if (tr.status !== 200 || !tok.id_token) {
    return sendHtml(res, 502, `${name}: token error`, `<p id="error">/token ${tr.status} ${esc(JSON.stringify(tok))}</p>`);
  }
  let claims;
  try {
    ({ payload: claims } = await jose.jwtVerify(tok.id_token, jwks, { issuer, audience: a.client_id }));
    if (claims.nonce !== p.nonce) throw new Error('nonce mismatch');
  } catch (e) {
    return sendHtml(res, 502, `${name}: bad ID token`, `<p id="error">${esc(e.message)}</p>`);
  }
  idTokens[name] = tok.id_token;
  sendHtml(res, 200, `${name}: signed in`, `<pre id="claims">${esc(JSON.stringify(claims, null, 2))}</pre>`);
}

function logout(name, res) {
  const state = jose.base64url.encode(crypto.randomBytes(12));
  logoutStates.add(state);
  const u = new URL(`${issuer}/logout`);
  u.search = new URLSearchParams({
    id_token_hint: idTokens[name] || '', post_logout_redirect_uri: `${rpOrigin}/${name}/bye`, state,
  }).toString();
  res.writeHead(302, { location: u.href, 'cache-control': 'no-store' });
  res.end();
}

async function backchannel(name, req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(form.get('logout_token') || '', jwks,
      { issuer, audience: appOf(name).client_id, typ: 'logout+jwt' });
    if (!payload.events || !payload.events['http://schemas.openid.net/event/backchannel-logout'] ||
        payload.nonce !== undefined || !payload.sid) {
      throw new Error(`not a logout token: ${JSON.stringify(payload)} ${JSON.stringify(protectedHeader)}`);
    }
    (logoutTokens[name] ||= []).push(payload);
    res.writeHead(200, { 'cache-control': 'no-store' });
    res.end();
  } catch (e) {
    fail(`${name} back-channel logout token refused: ${e.message}`);
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":"invalid_request"}');
  }
}

const rp = http.createServer((req, res) => {
  const url = new URL(req.url, rpOrigin);
  const m = /^\/(app1|app2)\/(start|cb|logout|bye|bcl)$/.exec(url.pathname);
  const done = (e) => {
    fail(`RP ${req.method} ${url.pathname}: ${e && e.stack}`);
    if (!res.headersSent) sendHtml(res, 500, 'RP error', `<p id="error">${esc(e && e.message)}</p>`);
  };
  if (!m) return sendHtml(res, 404, 'not found', '');
  const [, name, what] = m;
  try {
    if (what === 'start' && req.method === 'GET') return start(name, res);
    if (what === 'cb' && req.method === 'GET') return callback(name, url, res).catch(done);
    if (what === 'logout' && req.method === 'GET') return logout(name, res);
    if (what === 'bye' && req.method === 'GET') {
      const good = logoutStates.has(url.searchParams.get('state') || '');
      return sendHtml(res, good ? 200 : 400, `${name}: logged out`, `<p id="bye">${good ? 'bye' : 'bad state'}</p>`);
    }
    if (what === 'bcl' && req.method === 'POST') return backchannel(name, req, res).catch(done);
  } catch (e) {
    return done(e);
  }
  sendHtml(res, 405, 'method not allowed', '');
});

// ---- the browser -----------------------------------------------------------------------

let shot = 0;
let page;
async function screenshot(name) {
  shot++;
  const file = path.join(cfg.shots_dir, `${String(shot).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
  } catch (e) {
    fail(`screenshot ${file}: ${e.message}`);
  }
}

const here = () => new URL(page.url());
const onAuthd = (p) => (u) => u.origin === new URL(issuer).origin && u.pathname === p;
const onRp = (p) => (u) => u.origin === rpOrigin && u.pathname === p;
const lang = () => page.evaluate(() => document.documentElement.lang);
const bodyText = () => page.evaluate(() => document.body.innerText);

// Clicks selector and waits for the page to arrive where want says.
async function clickTo(selector, want, timeout = WAIT_MS) {
  await Promise.all([
    page.waitForURL(want, { timeout, waitUntil: 'load' }),
    page.click(selector, { timeout }),
  ]);
}

async function gotoTo(url, want, timeout = WAIT_MS) {
  await page.goto(url, { timeout, waitUntil: 'load' });
  if (!want(here())) await page.waitForURL(want, { timeout, waitUntil: 'load' });
}

// After a login or step-up form: through the consent page (allowing) to the app's
// callback, which shows the ID token's claims.
async function toApp(name, shotName) {
  const cb = onRp(`/${name}/cb`);
  const consent = onAuthd('/consent');
  await page.waitForURL((u) => cb(u) || consent(u), { timeout: HASH_WAIT_MS, waitUntil: 'load' });
  if (consent(here())) {
    check(await lang() === 'zh-CN', `${name}: consent page in Chinese`, await lang());
    await screenshot(`${shotName}-consent`);
    await clickTo('button[name="action"][value="allow"]', cb);
  }
  await screenshot(shotName);
  const err = await page.$('#error');
  must(err === null, `${name}: signed in`, err ? await err.innerText() : '');
  return JSON.parse(await page.innerText('#claims'));
}

async function scenario() {
  const u = cfg.user;

  // 1. Registration on the Chinese page.
  await gotoTo(`${issuer}/register`, onAuthd('/register'));
  await screenshot('register-zh');
  check(await lang() === 'zh-CN', 'register page: lang zh-CN', await lang());
  const regText = await bodyText();
  check(regText.includes('请填写与居民身份证一致的信息') && regText.includes('姓名'),
    'register page shows Chinese text');
  await page.fill('#name', u.name);
  await page.fill('#id_number', u.id_number);
  await page.fill('#phone', u.phone);
  await page.fill('#password', u.password);
  await page.fill('#password2', u.password);
  // The privacy notice's two boxes, neither ticked by the page.
  check(!(await page.isChecked('#agree')) && !(await page.isChecked('#consent_id')),
    'register page: the privacy boxes are not pre-ticked');
  await page.check('#agree');
  await page.check('#consent_id');
  await screenshot('register-filled');
  const regResp = page.waitForResponse((r) => r.request().method() === 'POST' &&
    new URL(r.url()).pathname === '/register', { timeout: HASH_WAIT_MS });
  await page.click('form[action="/register"] button[type="submit"]');
  const rr = await regResp;
  await page.waitForLoadState('load', { timeout: WAIT_MS });
  await screenshot('registered');
  must(rr.status() === 200, 'registration accepted', `${rr.status()}: ${(await bodyText()).slice(0, 300)}`);
  check((await bodyText()).includes('注册申请已提交'), 'registration: Chinese confirmation page');

  // 2. The operator verifies the person at a counter (LoA 2).
  try {
    execFileSync(cfg.authctl, ['-d', cfg.state_dir, 'user', 'verify', u.id_number, '--loa', '2',
      '--by', 'staff-0042', '--evidence', 'resident ID card seen at the counter'],
    { timeout: WAIT_MS, stdio: ['ignore', 'pipe', 'pipe'] });
    ok('operator: authctl user verify --loa 2');
  } catch (e) {
    must(false, 'operator: authctl user verify --loa 2', `${e.stderr || e.message}`);
  }

  // 3. app1: the Chinese login page, the language switch there and back, the login.
  await gotoTo(`${rpOrigin}/app1/start`, onAuthd('/login'));
  const next = here().searchParams.get('next') || '';
  check(next.startsWith('/authorize?'), 'app1 -> /login?next=/authorize?...', next);
  check(await lang() === 'zh-CN', 'login page: lang zh-CN', await lang());
  check((await bodyText()).includes('一个账号，登录所有接入的政务服务。'), 'login page shows Chinese text');
  await screenshot('login-zh');
  await clickTo('header a[hreflang="en"]', onAuthd('/login'));
  check(await lang() === 'en', 'language switch: English', await lang());
  check((await bodyText()).includes('One account for every connected government service.'),
    'login page shows English text');
  check(here().searchParams.get('next') === next, 'language switch keeps next');
  await screenshot('login-en');
  await clickTo('header a[hreflang="zh-CN"]', onAuthd('/login'));
  check(await lang() === 'zh-CN', 'language switch: back to Chinese', await lang());
  await screenshot('login-zh-again');
  await page.fill('#username', u.id_number);
  await page.fill('#password', u.password);
  await page.click('form[action="/login"] button[type="submit"]');
  const c1 = await toApp('app1', 'app1-signed-in');
  check(c1.acr === 'urn:yihao:loa:2', 'app1: acr urn:yihao:loa:2 (password, verified person)', c1.acr);
  check(Array.isArray(c1.amr) && c1.amr.includes('pwd'), 'app1: amr has pwd', JSON.stringify(c1.amr));
  check(c1.name === u.name, 'app1: name claim', c1.name);
  check(typeof c1.sub === 'string' && c1.sub.length >= 20, 'app1: pairwise sub', c1.sub);
  const cookies = await page.context().cookies(issuer);
  const sid = cookies.find((c) => c.name === 'yh_sid');
  check(sid && sid.httpOnly && sid.sameSite === 'Lax', 'yh_sid: HttpOnly, SameSite=Lax', JSON.stringify(sid));

  // 4. TOTP enrolment on the account page.
  await gotoTo(`${issuer}/account`, onAuthd('/account'));
  check(await lang() === 'zh-CN', 'account page: lang zh-CN', await lang());
  await screenshot('account');
  await clickTo('form[action="/account/totp/new"] button[type="submit"]', onAuthd('/account/totp'));
  check(await page.$('figure.qr svg') !== null, 'TOTP enrolment shows a QR code (SVG)');
  const keyText = await page.innerText('code.secret');
  const seed = base32Decode(keyText);
  const authenticator = totp(seed);
  check(seed.length === 20, 'TOTP key: 160 bits in base32', `${seed.length} bytes`);
  await screenshot('totp-enrol');
  await page.fill('form[action="/account/totp/confirm"] input[name="code"]',
    await authenticator.fresh());
  await clickTo('form[action="/account/totp/confirm"] button[type="submit"]', onAuthd('/account'));
  await screenshot('totp-enrolled');
  const totpText = await page.innerText('#totp');
  check(totpText.includes('已启用'), 'TOTP confirmed (account page: 已启用)', totpText);

  // 5. app2 (min LoA 3): step-up through /login/totp.
  await gotoTo(`${rpOrigin}/app2/start`, onAuthd('/login/totp'));
  check(here().searchParams.get('loa') === '3', 'app2 -> /login/totp?loa=3', page.url());
  check(await lang() === 'zh-CN', 'TOTP page: lang zh-CN', await lang());
  await screenshot('stepup-totp');
  await page.fill('#code', await authenticator.fresh());
  await page.click('form[action="/login/totp"] button[type="submit"]');
  const c2 = await toApp('app2', 'app2-signed-in');
  check(c2.acr === 'urn:yihao:loa:3', 'app2: acr urn:yihao:loa:3', c2.acr);
  check(Array.isArray(c2.amr) && c2.amr.includes('otp'), 'app2: amr has otp', JSON.stringify(c2.amr));
  check(c2.sub !== c1.sub || cfg.same_sector === true, 'app2: its own pairwise sub');
  const sid2 = (await page.context().cookies(issuer)).find((c) => c.name === 'yh_sid');
  check(sid2 && sid && sid2.value !== sid.value, 'step-up rotated the session id');

  // 6. RP-initiated logout from app1; both apps hear of it on the back channel.
  await gotoTo(`${rpOrigin}/app1/logout`, onRp('/app1/bye'));
  await screenshot('logged-out');
  check((await page.innerText('#bye')) === 'bye', 'logout: back at app1 with its state');
  const gone = (await page.context().cookies(issuer)).find((c) => c.name === 'yh_sid');
  check(!gone, 'logout cleared yh_sid', JSON.stringify(gone));
  const deadline = Date.now() + WAIT_MS;
  while (!(logoutTokens.app1 && logoutTokens.app2) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  check(logoutTokens.app1 && logoutTokens.app1.length >= 1, 'back-channel logout token delivered to app1');
  check(logoutTokens.app2 && logoutTokens.app2.length >= 1, 'back-channel logout token delivered to app2');
  if (logoutTokens.app1 && logoutTokens.app2) {
    check(logoutTokens.app1[0].sid === c1.sid && logoutTokens.app2[0].sid === c2.sid,
      'logout tokens name the session (sid)', `${logoutTokens.app1[0].sid} ${c1.sid}`);
  }

  // 7. app1 again: the login page, no silent sign-in.
  await gotoTo(`${rpOrigin}/app1/start`, (x) => onAuthd('/login')(x) || onRp('/app1/cb')(x));
  await screenshot('app1-again');
  check(onAuthd('/login')(here()), 'after logout app1 needs the login page again', page.url());
  check(await lang() === 'zh-CN', 'login page after logout: lang zh-CN', await lang());
}

async function main() {
  fs.mkdirSync(cfg.shots_dir, { recursive: true });
  await new Promise((resolve, reject) => {
    rp.once('error', reject);
    rp.listen(cfg.rp_port, '127.0.0.1', resolve);
  });
  let browser;
  try {
    browser = await launchChromium();
    // A fresh context: no cookies, Chinese first like a browser set up in China.
    const ctx = await browser.newContext({ locale: 'zh-CN' });
    ctx.setDefaultTimeout(WAIT_MS);
    ctx.setDefaultNavigationTimeout(WAIT_MS);
    page = await ctx.newPage();
    page.on('pageerror', (e) => fail(`page error: ${e.message}`));
    await scenario();
  } catch (e) {
    if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
    if (page) {
      console.log(`  at ${page.url()}`);
      await screenshot('failure');
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    rp.closeAllConnections?.();
    rp.close();
  }
  console.log(`screenshots: ${cfg.shots_dir}`);
  process.exit(failures() ? 1 : 0);
}

main();
