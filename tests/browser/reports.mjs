// A citizen reports a violation from the map and DPPR staff triage it, in Debian's Chromium
// (playwright-core):
//
//   node tests/browser/reports.mjs <base-url> <lon> <lat> <photo.png> <staff-name> <password> <out-dir>
//
// The citizen opens the map with a point (#p=lon,lat), whose answer panel offers "Laporkan
// pelanggaran di sini"; the link opens /lapor with the point, where the plan's sub-zone is shown
// again. They pick "Kegiatan tidak sesuai zonasi", give a KBLI code, and first send the form with an
// empty description: the page names the problem, marks the field and sends nothing. With a
// description, a photo and an email the page answers with the report's number and a link to its
// public page, which shows it as received, without the email. Staff sign in on /reports/staff,
// find the report in the list (filtered by the service), open it (the plan's sub-zone and the
// activity's class are shown), move it to "Diverifikasi" with a public note, and see the history
// grow; the public page then shows the note, and the map shows the report's pin (its id, service,
// state and day; no email). No console error or uncaught exception on the way.
// Screenshots: <out-dir>/lapor-form.png, lapor-done.png, lapor-status.png, reports-staff.png,
// map-pins.png
// (and lapor-failed.png on a failure). Prints one JSON line; exits 0 when every check holds, 1
// otherwise (2 on bad arguments).

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';

const [baseArg, lonArg, latArg, photoArg, staffName, staffPassword, outArg] = process.argv.slice(2);
if (!baseArg || !lonArg || !latArg || !photoArg || !staffName || !staffPassword || !outArg) {
  console.error('usage: node tests/browser/reports.mjs <base-url> <lon> <lat> <photo.png> <staff-name> <password> <out-dir>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const out = resolve(outArg);
const EMAIL = 'warga.pelapor@example.id';
const NOTE = 'Sudah dicek petugas: benar ada bengkel.';
const problems = [];
const seen = { base, panelLink: null, planOnForm: null, refused: null, report: null, statusPage: null, staff: null, screenshots: [] };

function watch(page, label) {
  // A 401 on the staff page is an answer it expects: it asks /api/v1/me whether anyone is signed
  // in before showing the sign-in form.
  const expected = (text) => label === 'staff' && /status of 401/.test(text);
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected(m.text())) problems.push(`console (${label}): ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception (${label}): ${e.message}`));
  page.setDefaultTimeout(30_000);
}

async function shot(page, name) {
  const file = join(out, name);
  await page.screenshot({ path: file, fullPage: true });
  seen.screenshots.push(file);
}

await mkdir(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
});
let failed = null;
let current = null;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  current = page;
  watch(page, 'citizen');
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/reports') posts.push(r.url());
  });

  // ---------- from the map's answer to the form ----------
  await page.goto(`${base}/#map=17/${latArg}/${lonArg}&p=${lonArg},${latArg}`);
  const link = page.locator('#report-here');
  await link.waitFor();
  seen.panelLink = await link.getAttribute('href');
  const code = await page.locator('#panel .result-head .code').textContent();
  await link.click();
  await page.waitForURL(/\/lapor\?lon=/);
  await page.waitForSelector('#lapor-map[data-state=loaded] canvas');
  await page.waitForFunction(() => /\S/.test(document.querySelector('#lapor-plan strong')?.textContent || ''));
  seen.planOnForm = (await page.locator('#lapor-plan').innerText()).trim();
  if (!seen.planOnForm.startsWith(code.trim())) throw new Error(`the form shows "${seen.planOnForm}", the map answered ${code}`);

  await page.selectOption('#lapor-service', 'kegiatan-tidak-sesuai');
  await page.waitForSelector('#attr-kbli');
  await page.fill('#attr-kbli', '45201');
  await page.fill('#lapor-email', EMAIL);
  await page.setInputFiles('#lapor-photos', resolve(photoArg));
  await page.waitForSelector('#lapor-previews img');

  // An empty description: named on the page, nothing sent.
  await page.click('#lapor-submit');
  await page.waitForSelector('#lapor-result .krk-msg-error');
  seen.refused = (await page.locator('#lapor-result').innerText()).trim();
  const marked = await page.locator('#lapor-description.invalid').count();
  if (!marked || posts.length) throw new Error(`an empty description: marked ${marked}, posts ${posts.length}`);
  await shot(page, 'lapor-form.png');

  await page.fill('#lapor-description', 'Bengkel mobil beroperasi di rumah tinggal, bising sampai malam.');
  await page.click('#lapor-submit');
  await page.waitForSelector('#lapor-status-link');
  const done = (await page.locator('#lapor-result').innerText()).trim();
  const number = /Laporan #(\d+) diterima/.exec(done);
  if (!number) throw new Error(`the answer: ${done}`);
  seen.report = { id: Number(number[1]), answer: done };
  await shot(page, 'lapor-done.png');

  // ---------- the public page ----------
  await page.click('#lapor-status-link');
  await page.waitForSelector('#report-status');
  const statusText = (await page.locator('main').innerText());
  if (!/Diterima/.test(await page.locator('#report-status').innerText())) throw new Error('the public page does not show the report as received');
  if (statusText.includes(EMAIL)) throw new Error('the public page shows the email');
  await shot(page, 'lapor-status.png');

  // ---------- staff ----------
  const staff = await context.newPage();
  current = staff;
  watch(staff, 'staff');
  await staff.goto(`${base}/reports/staff`);
  await staff.waitForSelector('#signin-form');
  await staff.fill('#signin-name', staffName);
  await staff.fill('#signin-password', staffPassword);
  await staff.click('#signin-submit');
  await staff.waitForSelector('#triage-rows tr');
  await staff.selectOption('#f-service', 'kegiatan-tidak-sesuai');
  await staff.waitForFunction((id) => [...document.querySelectorAll('#triage-rows tr')].some((r) => r.dataset.id === String(id)), seen.report.id);
  await staff.click(`#triage-rows tr[data-id="${seen.report.id}"] button.open`);
  await staff.waitForSelector('#next-status');
  const detail = await staff.locator('#triage-detail').innerText();
  if (!detail.includes(code.trim()) || !/45201/.test(detail)) throw new Error(`the review does not show the plan and the activity: ${detail}`);
  if (detail.includes(EMAIL)) throw new Error('the staff page shows the email');
  await staff.selectOption('#next-status', 'verified');
  await staff.fill('#next-note', NOTE);
  await staff.click('#next-submit');
  await staff.waitForFunction(() => /Diverifikasi/.test(document.querySelector('#triage-detail h2')?.textContent || ''));
  const history = await staff.locator('#triage-detail ol li').count();
  await staff.waitForSelector('#triage-map[data-state=loaded] canvas');
  await staff.waitForTimeout(1500);
  await shot(staff, 'reports-staff.png');
  seen.staff = { history, detail: detail.slice(0, 200) };
  if (history !== 2) throw new Error(`the history has ${history} entries after verification`);

  // The public page shows the note.
  current = page;
  await page.reload();
  await page.waitForSelector('#report-status');
  const after = await page.locator('main').innerText();
  seen.statusPage = /Diverifikasi/.test(after) && after.includes(NOTE);
  if (!seen.statusPage) throw new Error(`the public page after verification: ${after}`);

  // ---------- the public pin on the map ----------
  await page.goto(`${base}/#map=16/${latArg}/${lonArg}`);
  await page.waitForFunction((id) => {
    const map = window.satupeta && window.satupeta.map;
    if (!map || !map.getLayer('reports-pins') || !map.loaded()) return false;
    return map.queryRenderedFeatures({ layers: ['reports-pins'] }).some((f) => f.id === id);
  }, seen.report.id);
  seen.pin = await page.evaluate(() => {
    const f = window.satupeta.map.queryRenderedFeatures({ layers: ['reports-pins'] })[0];
    return { id: f.id, properties: f.properties };
  });
  if (JSON.stringify(seen.pin).includes(EMAIL)) throw new Error('the pin carries the email');
  await shot(page, 'map-pins.png');
} catch (e) {
  failed = e;
  if (current) await current.screenshot({ path: join(out, 'lapor-failed.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
const ok = !failed && problems.length === 0;
console.log(JSON.stringify({ ok, error: failed ? failed.message : null, problems, seen }));
process.exit(ok ? 0 : 1);
