// What the browser-driven scripts (browser.mjs, spa_cors.mjs) share: a line per check,
// "ok: ..." or "FAIL: ..." (failures counted), a Stop for a failure after which a
// scenario cannot go on, and headless Chromium (Debian's /usr/bin/chromium) launched
// through playwright-core the same way.
import { chromium } from 'playwright-core';

let fails = 0;
export const ok = (m) => console.log(`ok: ${m}`);
export const fail = (m) => { console.log(`FAIL: ${m}`); fails++; };
export const check = (cond, m, detail = '') => (cond ? ok(m) : fail(detail ? `${m}: ${detail}` : m));
// How many checks failed so far.
export const failures = () => fails;

// A failure after which the scenario cannot go on.
export class Stop extends Error {}
export const must = (cond, m, detail = '') => {
  check(cond, m, detail);
  if (!cond) throw new Stop(m);
};

// Debian's chromium, headless, without the background traffic a test has no use for;
// launching takes at most timeout ms.
export function launchChromium(timeout) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    headless: true,
    timeout,
  });
}
