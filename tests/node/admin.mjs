// The operators' console in a real browser at a phone's width: headless Chromium
// (Debian's /usr/bin/chromium) driven by playwright-core.
//
//   node admin.mjs CONFIG.json
//
// CONFIG: {"issuer", "shots_dir", "case" (an open ambiguous_match case id), "org" (a
//          credit code),
//          "operator": {"id_number", "password", "seed" (base32 TOTP key), "last_step"},
//          "citizen": {"id_number", "name"},
//          "app": {"client_id", "redirect_uri", "secret_out" (a file for the secret shown)}}
// last_step: the last TOTP step the calling script used for the operator.
//
// At 375 px: the operator logs in with next /admin: the password leads to the TOTP page,
// the code to the console (LoA 3). The review queue lists the case; the case page shows
// its evidence masked; a decision without a note is stopped by the browser (required),
// then "separate" with a note is recorded (a notice, the undo form). The people page:
// a search by ID number lists the citizen masked; their page shows the ID number masked
// until the reveal button, after which it shows it in full. The apps page registers a
// confidential app and shows its secret once (written to app.secret_out for the calling
// script to check); an organization's page and the audit log's page are shown too. No
// console page scrolls
// sideways. Screenshots: shots_dir/375-<nn>-<page>.png. Prints "ok: ..." per check and
// "FAIL: ..." per failure; exits 1 on any failure.
import fs from 'node:fs';
import { check, must, failures, fail, Stop, launchChromium, personPage, base32Decode, totp }
  from './checks.mjs';

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const width = 375;
const seq = { n: 0 };

async function run(browser) {
  const op = cfg.operator;
  const cit = cfg.citizen;
  const code = totp(base32Decode(op.seed), op.last_step);
  const s = await personPage(browser, cfg.issuer, cfg.shots_dir, width, seq);

  // Password, TOTP step-up, the console.
  await s.go('/login?next=%2Fadmin', s.onAuthd('/login'));
  await s.login(op, s.onAuthd('/login/totp'));
  check(s.here().searchParams.get('next') === '/admin', 'operator password login: to the TOTP page',
    s.page.url());
  await s.page.fill('#code', await code.fresh());
  await s.submit('form[action="/login/totp"]', s.onAuthd('/admin'));
  must(await s.page.isVisible('a[href="/admin/review"]'), 'after TOTP: the console with the review part');
  await s.look('admin');

  // The queue and the case.
  await Promise.all([s.page.waitForURL(s.onAuthd('/admin/review')), s.page.click('a[href="/admin/review"]')]);
  const link = `a[href="/admin/review/case?id=${cfg.case}"]`;
  must(await s.page.isVisible(link), 'the queue lists the case');
  await s.look('admin-review');
  await Promise.all([s.page.waitForURL(s.onAuthd('/admin/review/case')), s.page.click(link)]);
  const text = await s.page.innerText('main');
  check(text.includes('s_b/B2') && text.includes('*'), 'the case beside its records, masked');
  await s.look('admin-case');
  const form = 'form[action="/admin/review/resolve"]';
  await s.page.check(`${form} input[value=separate]`);
  await s.page.click(`${form} button[type=submit]`);
  check(s.at('/admin/review/case'), 'no note: the browser keeps the form (the note is required)');
  await s.page.fill(`${form} textarea[name=note]`, '两位不同的王芳');
  await s.submit(form, s.onAuthd('/admin/review/resolve'));
  const notice = await s.page.innerText('main .notice[role=status]').catch(() => '(no notice)');
  check(notice.includes('已记录决定'), 'separate: the page says the decision was recorded', notice);
  check(await s.page.isVisible('form[action="/admin/review/undo"]'), 'the decided case offers the undo');
  await s.look('admin-decided');

  // People: search, the person, the reveal.
  await s.go('/admin/people', s.onAuthd('/admin/people'));
  await s.page.selectOption('form[action="/admin/people/search"] select[name=by]', 'id_number');
  await s.page.fill('form[action="/admin/people/search"] input[name=q]', cit.id_number);
  await s.submit('form[action="/admin/people/search"]', s.onAuthd('/admin/people/search'));
  const list = await s.page.innerText('main');
  check(!list.includes(cit.id_number) && !list.includes(cit.name) &&
    list.includes(cit.id_number.slice(0, 6)), 'the search lists the citizen masked');
  await s.look('admin-people-found');
  await Promise.all([s.page.waitForURL(s.onAuthd('/admin/people/person')),
    s.page.click('main ul.claims a')]);
  check(!(await s.page.innerText('main')).includes(cit.id_number), "the person's page: ID number masked");
  await s.look('admin-person');
  await s.submit('form[action="/admin/people/reveal"]', s.onAuthd('/admin/people/reveal'));
  check((await s.page.innerText('main')).includes(cit.id_number), 'the reveal shows the full ID number');
  await s.look('admin-person-revealed');

  // Apps: register a confidential app; its secret is shown once.
  await s.go('/admin/apps', s.onAuthd('/admin/apps'));
  const add = 'form[action="/admin/apps/add"]';
  await s.page.fill(`${add} input[name=client_id]`, cfg.app.client_id);
  await s.page.fill(`${add} input[name=name]`, '控制台注册的应用');
  await s.page.fill(`${add} textarea[name=redirect_uris]`, cfg.app.redirect_uri);
  await s.submit(add, s.onAuthd('/admin/apps/add'));
  const secret = await s.page.innerText('code.secret').catch(() => '');
  check(secret.length >= 40, 'the app is registered and its secret shown once', secret);
  fs.writeFileSync(cfg.app.secret_out, secret);
  await s.look('admin-app-added');

  // The organizations and audit pages at this width too.
  await s.go(`/admin/orgs?by=uscc&q=${cfg.org}`, s.onAuthd('/admin/orgs'));
  await Promise.all([s.page.waitForURL(s.onAuthd('/admin/orgs/org')), s.page.click('main ul.claims a')]);
  check((await s.page.innerText('main')).includes(cfg.org), "the organization's page");
  await s.look('admin-org');
  await s.go('/admin/audit?event=review.resolve', s.onAuthd('/admin/audit'));
  check((await s.page.innerText('main')).includes('review.resolve'), 'the audit page lists the decision');
  await s.look('admin-audit');
}

let browser;
try {
  fs.mkdirSync(cfg.shots_dir, { recursive: true });
  browser = await launchChromium();
  await run(browser);
} catch (e) {
  if (!(e instanceof Stop)) fail(`scenario stopped: ${e.message}`);
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(failures() ? 1 : 0);
