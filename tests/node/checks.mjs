// What the browser scenarios (browser.mjs, pages_phone.mjs, spa_cors.mjs, org_agents.mjs)
// share: the bounded waits, the check counting ("ok: ..." and "FAIL: ..." lines,
// failures() for the exit code), a Stop for a failure after which a scenario cannot go
// on, headless Chromium (Debian's /usr/bin/chromium) launched through playwright-core the
// same way, and full-page screenshots.
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
