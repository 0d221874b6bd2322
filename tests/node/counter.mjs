// The service-hall counter in a real browser at a phone's width: headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core, and an app (rp.mjs,
// openid-client) served by this process.
//
//   node counter.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "rp_port", "app": {"client_id", "client_secret"},
//          "unit" (the staff member's unit),
//          "staff": {"id_number", "password", "seed" (base32 TOTP key), "last_step"},
//          "citizen": {"id_number", "name", "password", "seed", "last_step"}}
// last_step: the last TOTP step the calling script used for that person.
//
// At 375 px: the citizen signs in to the app with the password (acr urn:yihao:loa:2).
// The staff member logs in with next /counter: the password leads to the TOTP page (the
// password alone is no login for staff), the code to the counter page, which names the
// unit; the search by ID number shows the citizen masked (neither the full ID number nor
// the full name) and the account status in Chinese; a re-typed ID number that differs is
// refused with the page's alert; the right one with the document and what was seen
// records the check (a notice, no alert, LoA 4 on the page). The citizen's next sign-in
// to the app asks acr_values urn:yihao:loa:4: the TOTP step-up (loa=4), then an ID token
// and /userinfo for acr urn:yihao:loa:4 with amr otp. The counter pages and the step-up
// pages do not scroll sideways. Screenshots: shots_dir/375-<nn>-<page>.png. Prints
// "ok: ..." per check and "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import { check, must, personPage, base32Decode, totp } from './checks.mjs';
import { runWithRp, signIn } from './rp.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const width = 375;
const LOA = (n) => `urn:yihao:loa:${n}`;
const seq = { n: 0 };

async function run(browser, rp) {
  const st = cfg.staff;
  const cit = cfg.citizen;
  const staffCode = totp(base32Decode(st.seed), st.last_step);
  const citCode = totp(base32Decode(cit.seed), cit.last_step);

  // The citizen before the counter: a password login, LoA 2.
  const person = () => personPage(browser, cfg.issuer, cfg.shots_dir, width, seq);
  const c = await person();
  const before = await signIn(c, rp, cit, { tag: 'citizen' });
  check(before.claims.acr === LOA(2), 'citizen before the counter: acr loa:2', before.claims.acr);

  // The staff member: password, TOTP step-up, the counter.
  const s = await person();
  await s.go('/login?next=%2Fcounter', s.onAuthd('/login'));
  await s.login(st, s.onAuthd('/login/totp'));
  check(s.here().searchParams.get('next') === '/counter',
    'staff password login: to the TOTP page, then the counter', s.page.url());
  await s.look('staff-stepup');
  await s.page.fill('#code', await staffCode.fresh());
  await s.submit('form[action="/login/totp"]', s.onAuthd('/counter'));
  must(await s.page.isVisible('form[action="/counter/search"]'), 'staff after TOTP: the counter page');
  check((await s.page.innerText('main')).includes(cfg.unit), 'the counter page names the unit');
  await s.look('counter');

  // The search: the citizen masked.
  await s.page.fill('form[action="/counter/search"] input[name=id_number]', cit.id_number);
  await s.submit('form[action="/counter/search"]', s.onAuthd('/counter/search'));
  const found = await s.page.innerText('main');
  must(await s.page.isVisible('form[action="/counter/verify"]'), 'the search finds the citizen');
  check(!found.includes(cit.id_number) && !found.includes(cit.name) &&
    found.includes(cit.id_number.slice(0, 6)), 'the result shows the citizen masked');
  const status = (await s.page.innerText('ul.claims li:nth-child(4)')).trim();
  check(status.endsWith('正常'), 'the result shows the account status in Chinese (正常)', status);
  await s.look('counter-found');

  // A re-typed ID number that differs: refused with the alert, the form still there.
  const verify = 'form[action="/counter/verify"]';
  const wrong = cit.id_number.slice(0, 17) + (cit.id_number[17] === '0' ? '1' : '0');
  await s.page.fill(`${verify} input[name=id_number]`, wrong);
  await s.page.fill(`${verify} textarea[name=note]`, '照片与本人相符');
  await s.submit(verify, s.onAuthd('/counter/verify'));
  check((await s.page.innerText('[role=alert]')).includes('不符'),
    'a re-typed ID number that differs: the page says it does not match');
  await s.look('counter-mismatch');

  // The in-person check.
  await s.page.selectOption(`${verify} select[name=doc]`, 'id_card');
  await s.page.fill(`${verify} input[name=id_number]`, cit.id_number);
  await s.page.fill(`${verify} textarea[name=note]`, '照片与本人相符');
  await s.submit(verify, s.onAuthd('/counter/verify'));
  const box = await s.page.$('main .notice[role=status]');
  const notice = box ? await box.innerText() : '(no notice)';
  const level = (await s.page.innerText('ul.claims li:nth-child(3)')).trim();
  check(notice.includes('已记录现场核验') && level.endsWith('4'),
    'the check is recorded: the page says so in a notice and shows LoA 4', `${notice} / ${level}`);
  check(await s.page.$('[role=alert]') === null, 'the page shows no error box after the check');
  await s.look('counter-verified');

  // The citizen's next sign-in: LoA 4 after the TOTP step-up.
  const after = await signIn(c, rp, cit,
    { extra: { acr_values: LOA(4) }, code: () => citCode.fresh(), tag: 'citizen' });
  check(after.seen.some((u) => u.pathname === '/login/totp' && u.searchParams.get('loa') === '4'),
    'citizen asking for LoA 4: the TOTP step-up to LoA 4', after.seen.join(' '));
  check(after.claims.acr === LOA(4), 'citizen after the counter: ID token acr loa:4', after.claims.acr);
  check(Array.isArray(after.claims.amr) && after.claims.amr.includes('otp'),
    'citizen after the counter: amr has otp', JSON.stringify(after.claims.amr));
  check(after.userinfo.sub === after.claims.sub && after.claims.sub === before.claims.sub,
    'citizen after the counter: the same subject in the ID token and /userinfo');
}

await runWithRp(cfg, run);
