// What the browser scenarios (browser.mjs, pages_phone.mjs, spa_cors.mjs, org_agents.mjs,
// counter.mjs) share: the bounded waits, the check counting ("ok: ..." and "FAIL: ..."
// lines, failures() for the exit code), a Stop for a failure after which a scenario cannot
// go on, headless Chromium (Debian's /usr/bin/chromium) launched through playwright-core
// the same way, full-page screenshots, the sideways-scrolling check and TOTP codes.
import crypto from 'node:crypto';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const WAIT_MS = 15000;        // every single wait is bounded by this
export const HASH_WAIT_MS = 30000;   // steps that run argon2 (slower under sanitizers)

let fails = 0;
export const failures = () => fails;
export const ok = (m) => console.log(`ok: ${m}`);
export const fail = (m) => { console.log(`FAIL: ${m}`); fails++; };
export const check = (cond, m, detail = '') => (cond ? ok(m) : fail(detail ? `${m}: ${detail}` : m));
// A failure after which the scenario cannot go on.
export class Stop extends Error {}
export const must = (cond, m, detail = '') => {
  check(cond, m, detail);
  if (!cond) throw new Stop(m);
};

// Headless Chromium without the network chatter of a desktop browser; launching takes
// at most timeout ms.
export function launchChromium(timeout = WAIT_MS) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    headless: true,
    timeout,
  });
}

// A full-page screenshot of page to dir/<width>-<nn>-<name>.png (a failure is counted,
// the scenario goes on).
export async function screenshot(page, dir, width, n, name) {
  const file = path.join(dir, `${width}-${String(n).padStart(2, '0')}-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
  } catch (e) {
    fail(`screenshot ${file}: ${e.message}`);
  }
}

// Checks that page does not scroll sideways at width, then screenshot(page, dir, width,
// n, name).
export async function lookAt(page, dir, width, n, name) {
  const m = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  check(m.scrollWidth <= m.clientWidth, `${width}px ${name}: no sideways scrolling`,
    `scrollWidth ${m.scrollWidth} > clientWidth ${m.clientWidth}`);
  await screenshot(page, dir, width, n, name);
}

// The look at the pages a browser page (width px wide) shows: look(name) is lookAt with
// the next number of the sequence seq (looks sharing the object seq number their
// screenshots in one sequence).
export function looker(page, dir, width, seq = { n: 0 }) {
  return async (name) => {
    seq.n++;
    await lookAt(page, dir, width, seq.n, name);
  };
}

// A person's browser: a fresh context of browser (zh-CN, width px wide, every wait
// bounded by WAIT_MS) on authd at issuer, whose looks (looker) go to shotsDir numbered in
// the sequence seq. Gives {page, here(), onAuthd(path) (a predicate on URLs), at(path),
// look(name), go(url, want), submit(form, want), login(who, want)}.
export async function personPage(browser, issuer, shotsDir, width, seq) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width, height: 800 } });
  ctx.setDefaultTimeout(WAIT_MS);
  ctx.setDefaultNavigationTimeout(WAIT_MS);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => fail(`page error: ${e.message}`));
  const origin = new URL(issuer).origin;
  const onAuthd = (p) => (u) => u.origin === origin && u.pathname === p;
  const submit = (form, want, wait = WAIT_MS) => Promise.all([
    page.waitForURL(want, { timeout: wait, waitUntil: 'load' }),
    page.click(`${form} button[type=submit]`),
  ]);
  return {
    page,
    here: () => new URL(page.url()),
    onAuthd,
    at: (p) => onAuthd(p)(new URL(page.url())),
    look: looker(page, shotsDir, width, seq),
    // Goes to url (on authd when it is a path) and waits until the page is where want
    // says (after the redirects a navigation follows by itself).
    async go(url, want = () => true, wait = WAIT_MS) {
      await page.goto(url.startsWith('/') ? issuer + url : url, { waitUntil: 'load' });
      if (!want(new URL(page.url()))) await page.waitForURL(want, { timeout: wait, waitUntil: 'load' });
    },
    // Clicks the submit button of form and waits until the page is where want says.
    submit,
    // Fills the login page shown now with who's id_number and password and submits it.
    async login(who, want) {
      await page.fill('#username', who.id_number);
      await page.fill('#password', who.password);
      await submit('form[action="/login"]', want, HASH_WAIT_MS);
    },
  };
}

// ---- TOTP (RFC 6238 over RFC 4226: HMAC-SHA-1, 30 s steps, 6 digits) -------------------

// The bytes of a base32 (RFC 4648) key as an authenticator app reads it (spaces and
// padding ignored, any case); throws on a character outside the alphabet.
export function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const s = text.replace(/[\s=]/g, '').toUpperCase();
  const out = [];
  let bits = 0;
  let acc = 0;
  for (const c of s) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(c)}`);
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function hotp(seed, counter) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = crypto.createHmac('sha1', seed).update(msg).digest();
  const o = h[h.length - 1] & 0x0f;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1000000).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

// One person's authenticator for the key seed (bytes), whose codes up to step lastStep
// were used already (e.g. by the calling script's fresh_code; -1: none). fresh() gives
// the code of a step the server has not seen used yet: the current step, or the next one
// (inside its window of one step) when the current one was used; it waits (bounded) only
// when even that was used.
export function totp(seed, lastStep = -1) {
  let last = lastStep;
  return {
    async fresh() {
      const step = Math.max(stepNow(), last + 1);
      const deadline = Date.now() + 65000;
      while (step > stepNow() + 1) {
        if (Date.now() > deadline) throw new Error('no fresh TOTP step within 65 s');
        await new Promise((r) => setTimeout(r, 500));
      }
      last = step;
      return hotp(seed, step);
    },
  };
}
