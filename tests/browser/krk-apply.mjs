// An applicant asks for a KRK (city-plan certificate) from the web page and follows it on the
// status page, in Debian's Chromium (playwright-core):
//
//   node tests/browser/krk-apply.mjs <base-url> <parcel.geojson> <out-dir>
//
// The applicant opens /krk, fills the form (name, NIK, address, land title SHM 1234, phone,
// building function hunian) and uploads the parcel file through "Unggah berkas persil" (the page
// has the server convert it: POST /api/v1/parcels/convert), then waits until the page shows the
// parcel's area. First a bad submission: with the NIK "123" the page names the problem (in
// #apply-error, the field marked invalid), sends nothing and shows no result. With the right NIK
// the page answers with the draft (at least one sub-zone row, the area in m²) and the private
// status link (/krk/status/{id}#key=KEY), which the copy button copies. The status link shows the
// application as submitted with its draft; the same address without the #key fragment, and with a
// wrong key, shows a no-access message and nothing of the application. No console error or
// uncaught exception on the way (except the 401/404 the wrong key is answered with).
// Screenshots: <out-dir>/krk-apply-form.png (the form with the NIK refused), <out-dir>/krk-apply.png
// (the answer), <out-dir>/krk-status.png, <out-dir>/krk-status-nokey.png (and, on a failure, the
// page as it was: <out-dir>/krk-apply-failed.png). Prints one JSON line of
// what it saw; exits 0 when every check holds, 1 otherwise (2 on bad arguments).

import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';

const [baseArg, parcelArg, outArg] = process.argv.slice(2);
if (!baseArg || !parcelArg || !outArg) {
  console.error('usage: node tests/browser/krk-apply.mjs <base-url> <parcel.geojson> <out-dir>');
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, '');
const parcelFile = resolve(parcelArg);
const out = resolve(outArg);
const STEP_MS = 30_000;
const APPLICANT = {
  name: 'Budi Santoso',
  nik: '6471011203800004',
  badNik: '123',
  address: 'Jl. Jenderal Sudirman No. 12, RT 05, Kelurahan Klandasan Ilir, Balikpapan Kota',
  titleKind: 'SHM',
  titleNumber: '1234',
  phone: '0812-5400-1234',
  buildingFunction: 'hunian',
};
const AREA = /\d[\d.,]*\s*m²/;
const STATUS_LINK = /^https?:\/\/[^/]+\/krk\/status\/([^/#?]+)#key=(.+)$/;
const problems = [];
const warnings = [];
const seen = {
  base, parcel: parcelFile, convert: null, parcelInfo: null, badSubmit: null, submit: null,
  result: null, copy: null, status: null, noKey: null, wrongKey: null, screenshots: [],
};

// Console errors are the page's fault, except the 401/404 the API answers a wrong key with while
// the test asks for it on purpose (`phase` says which step is running).
let phase = 'apply';
const expected = (text) => phase === 'wrong-key' && /status of (401|403|404)/.test(text);
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected(m.text())) problems.push(`console (${label}): ${m.text()}`);
    else if (m.type() === 'warning') warnings.push(`${label}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception (${label}): ${e.message}`));
  page.setDefaultTimeout(STEP_MS);
}

/** Checks a page's visible text does not hold anything of the application. */
async function leaksNothing(page, what) {
  const text = await page.locator('main').innerText();
  for (const secret of [APPLICANT.name, APPLICANT.nik, APPLICANT.address, `SHM ${APPLICANT.titleNumber}`]) {
    if (text.includes(secret)) throw new Error(`${what}: the page shows "${secret}"`);
  }
  if (await page.locator('#application-status').count()) throw new Error(`${what}: the page shows a status badge`);
  if (await page.locator('.krk-parts').count()) throw new Error(`${what}: the page shows the draft`);
}

await mkdir(out, { recursive: true });
// Fails early (exit 2) on a parcel file that is not there or not JSON.
try {
  JSON.parse(await readFile(parcelFile, 'utf8'));
} catch (e) {
  console.error(`the parcel file ${parcelFile}: ${e.message}`);
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
});
let failed = null;
let current = null; // the page a failure is shown on (screenshot <out-dir>/krk-apply-failed.png)
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base).origin });
  const page = await context.newPage();
  current = page;
  watch(page, 'apply');
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/krk/applications') posts.push(r.url());
  });

  // ---------- the form ----------
  await page.goto(`${base}/krk`);
  await page.waitForSelector('#apply-form');
  await page.waitForSelector('#apply-map[data-state=loaded] canvas');
  await page.fill('#applicant-name', APPLICANT.name);
  await page.fill('#applicant-id', APPLICANT.badNik);
  await page.fill('#applicant-address', APPLICANT.address);
  await page.selectOption('#title-kind', APPLICANT.titleKind);
  await page.fill('#title-number', APPLICANT.titleNumber);
  await page.fill('#phone', APPLICANT.phone);
  await page.selectOption('#building-function', APPLICANT.buildingFunction);

  const converted = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/parcels/convert');
  await page.setInputFiles('#parcel-file', parcelFile);
  const convert = await converted;
  seen.convert = { status: convert.status() };
  if (convert.status() !== 200) throw new Error(`/api/v1/parcels/convert answered ${convert.status()}: ${await convert.text()}`);
  await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('#parcel-info').textContent), AREA.source);
  seen.parcelInfo = (await page.textContent('#parcel-info')).trim();
  if (!/^Persil siap/.test(seen.parcelInfo)) throw new Error(`#parcel-info says "${seen.parcelInfo}"`);
  const redraw = (await page.textContent('#draw-start')).trim();
  if (redraw !== 'Gambar ulang') throw new Error(`the draw button says "${redraw}" with a parcel loaded`);
  console.error(`ok   the parcel uploaded: ${seen.parcelInfo}`);

  // ---------- a bad submission first: the NIK "123" ----------
  await page.click('#apply-submit');
  await page.waitForFunction(() => document.querySelector('#apply-error').textContent.trim().length > 0);
  await page.waitForTimeout(700); // time for a result to appear, were the page to send anything
  seen.badSubmit = {
    error: (await page.textContent('#apply-error')).trim(),
    alert: await page.locator('#apply-error [role=alert]').count(),
    fieldInvalid: await page.getAttribute('#applicant-id', 'aria-invalid'),
    // The invalid field is drawn as such (its border no longer that of the valid address field).
    fieldBorder: await page.evaluate(() => getComputedStyle(document.querySelector('#applicant-id')).borderTopColor),
    validBorder: await page.evaluate(() => getComputedStyle(document.querySelector('#applicant-name')).borderTopColor),
    focused: await page.evaluate(() => document.activeElement && document.activeElement.id),
    resultVisible: await page.isVisible('#result'),
    formVisible: await page.isVisible('#apply-form'),
    posts: posts.length,
  };
  if (!/NIK/.test(seen.badSubmit.error)) throw new Error(`a NIK of "123": #apply-error says "${seen.badSubmit.error}"`);
  if (seen.badSubmit.fieldInvalid !== 'true') throw new Error('a NIK of "123": the NIK field is not marked invalid');
  if (seen.badSubmit.fieldBorder === seen.badSubmit.validBorder) throw new Error(`a NIK of "123": the NIK field looks like a valid one (${seen.badSubmit.fieldBorder})`);
  if (seen.badSubmit.resultVisible || !seen.badSubmit.formVisible) throw new Error('a NIK of "123": the page shows a result');
  if (seen.badSubmit.posts) throw new Error('a NIK of "123": the page sent the application');
  console.error(`ok   a NIK of "123" refused: ${seen.badSubmit.error}`);
  const formShot = join(out, 'krk-apply-form.png');
  await page.screenshot({ path: formShot, fullPage: true });
  seen.screenshots.push(formShot);

  // Typing in the field clears the message.
  await page.fill('#applicant-id', APPLICANT.nik);
  const left = (await page.textContent('#apply-error')).trim();
  if (left) throw new Error(`the error stays after the NIK is corrected: "${left}"`);
  if (await page.getAttribute('#applicant-id', 'aria-invalid')) throw new Error('the NIK field stays marked invalid');

  // ---------- the good submission ----------
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/api/v1/krk/applications');
  await page.click('#apply-submit');
  const answer = await answered;
  seen.submit = { status: answer.status() };
  if (answer.status() >= 300) throw new Error(`the application was answered ${answer.status()}: ${await answer.text()}`);
  await page.waitForSelector('#result:not([hidden])');
  const statusLink = await page.inputValue('#status-link');
  const match = STATUS_LINK.exec(statusLink);
  if (!match) throw new Error(`the status link is "${statusLink}"`);
  const [, appId] = match;
  seen.result = await page.evaluate(() => {
    const facts = {};
    for (const dt of document.querySelectorAll('#result-facts dt')) facts[dt.textContent] = dt.nextElementSibling.textContent;
    const rows = [...document.querySelectorAll('#result-draft .krk-parts tbody tr:not(.krk-conditions)')];
    return {
      formVisible: !document.querySelector('#apply-form').hidden,
      facts,
      draftArea: (document.querySelector('#result-draft .krk-draft .krk-strong') || {}).textContent || null,
      parts: rows.map((tr) => [...tr.cells].slice(0, 2).map((td) => td.textContent.trim()).join(' | ')),
      openStatus: document.querySelector('#open-status').href,
      linkSelected: document.activeElement && document.activeElement.id,
    };
  });
  seen.result.id = appId;
  seen.result.statusLink = statusLink;
  if (seen.result.formVisible) throw new Error('the form stays on the page next to the result');
  if (!seen.result.parts.length) throw new Error('the draft lists no sub-zone');
  if (!seen.result.parts.some((p) => /^R-\d/.test(p))) throw new Error(`no R- sub-zone in the draft: ${seen.result.parts.join('; ')}`);
  if (!seen.result.parts.every((p) => AREA.test(p))) throw new Error(`a sub-zone row without an area: ${seen.result.parts.join('; ')}`);
  if (!AREA.test(seen.result.facts['Luas persil'] || '')) throw new Error(`the parcel's area is "${seen.result.facts['Luas persil']}"`);
  if (!AREA.test(seen.result.draftArea || '')) throw new Error(`the draft's area is "${seen.result.draftArea}"`);
  if (seen.result.facts.Pemohon !== APPLICANT.name) throw new Error(`the applicant is "${seen.result.facts.Pemohon}"`);
  if (seen.result.facts['Alas hak'] !== `SHM ${APPLICANT.titleNumber}`) throw new Error(`the land title is "${seen.result.facts['Alas hak']}"`);
  if (seen.result.facts['Fungsi bangunan'] !== 'Hunian') throw new Error(`the building function is "${seen.result.facts['Fungsi bangunan']}"`);
  if (seen.result.openStatus !== statusLink) throw new Error(`"Buka halaman status" goes to ${seen.result.openStatus}`);
  if (posts.length !== 1) throw new Error(`the page sent ${posts.length} applications`);
  console.error(`ok   application ${appId}: ${seen.result.parts.length} sub-zone row(s) (${seen.result.parts.join('; ')}), ${seen.result.facts['Luas persil']}`);

  await page.click('#copy-link');
  await page.waitForFunction(() => document.querySelector('#copy-note').textContent.trim().length > 0);
  seen.copy = {
    note: (await page.textContent('#copy-note')).trim(),
    clipboard: await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `(unreadable: ${e.message})`),
  };
  if (seen.copy.clipboard !== statusLink) throw new Error(`the copy button copied "${seen.copy.clipboard}"`);
  console.error(`ok   ${seen.copy.note}`);

  await page.waitForSelector('#result-map[data-state=loaded] canvas');
  await page.waitForTimeout(1000);
  const applyShot = join(out, 'krk-apply.png');
  await page.screenshot({ path: applyShot, fullPage: true });
  seen.screenshots.push(applyShot);

  // ---------- the status page, with the key ----------
  phase = 'status';
  const status = await context.newPage();
  current = status;
  watch(status, 'status');
  await status.goto(statusLink);
  await status.waitForSelector('#application-status');
  seen.status = await status.evaluate(() => {
    const facts = {};
    for (const dt of document.querySelectorAll('#status-body dl.facts dt')) facts[dt.textContent] = dt.nextElementSibling.textContent;
    return {
      url: location.href,
      state: document.querySelector('#application-status').dataset.status,
      word: document.querySelector('#application-status').textContent,
      loadingHidden: document.querySelector('#status-loading').hidden,
      facts,
      parts: [...document.querySelectorAll('#status-body .krk-parts tbody tr:not(.krk-conditions)')]
        .map((tr) => [...tr.cells].slice(0, 2).map((td) => td.textContent.trim()).join(' | ')),
      draftArea: (document.querySelector('#status-body .krk-draft .krk-strong') || {}).textContent || null,
      certificate: !!document.querySelector('#certificate-number, #certificate-pdf, #certificate-verify, #refusal-reason'),
    };
  });
  if (seen.status.state !== 'submitted') throw new Error(`the status page says ${seen.status.state} (${seen.status.word})`);
  if (!seen.status.loadingHidden) throw new Error('"Memuat status permohonan…" stays on the page');
  if (seen.status.facts['Nomor permohonan'] !== appId) throw new Error(`the status page shows application ${seen.status.facts['Nomor permohonan']}`);
  if (seen.status.facts.Pemohon !== APPLICANT.name) throw new Error(`the status page shows the applicant "${seen.status.facts.Pemohon}"`);
  if (!seen.status.parts.length) throw new Error('the status page lists no sub-zone');
  if (JSON.stringify(seen.status.parts) !== JSON.stringify(seen.result.parts)) {
    throw new Error(`the status page's sub-zones (${seen.status.parts.join('; ')}) differ from the answer's (${seen.result.parts.join('; ')})`);
  }
  if (seen.status.draftArea !== seen.result.draftArea) throw new Error(`the status page's area is ${seen.status.draftArea}, the answer's ${seen.result.draftArea}`);
  if (seen.status.certificate) throw new Error('a submitted application shows a certificate or a refusal');
  console.error(`ok   the status page: ${seen.status.word}; ${seen.status.parts.length} sub-zone row(s)`);
  await status.waitForSelector('#status-map[data-state=loaded] canvas');
  await status.waitForTimeout(1000);
  const statusShot = join(out, 'krk-status.png');
  await status.screenshot({ path: statusShot, fullPage: true });
  seen.screenshots.push(statusShot);

  // ---------- the same address without the key (a fresh browser context: nothing remembered) ----------
  phase = 'no-key';
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const noKey = await stranger.newPage();
  current = noKey;
  watch(noKey, 'no-key');
  const bare = statusLink.replace(/#.*$/, '');
  await noKey.goto(bare);
  await noKey.waitForSelector('#status-body .krk-msg-error');
  seen.noKey = {
    url: noKey.url(),
    message: (await noKey.textContent('#status-body')).trim(),
    loadingHidden: await noKey.evaluate(() => document.querySelector('#status-loading').hidden),
    reloadShown: await noKey.isVisible('#status-reload'),
  };
  if (seen.noKey.reloadShown) throw new Error('without the key a "Muat ulang status" button that can do nothing is shown');
  if (!/kunci/i.test(seen.noKey.message)) throw new Error(`without the key the page says "${seen.noKey.message}"`);
  if (!seen.noKey.loadingHidden) throw new Error('without the key "Memuat status permohonan…" stays on the page');
  await leaksNothing(noKey, 'without the key');
  console.error(`ok   without the key: ${seen.noKey.message}`);
  const noKeyShot = join(out, 'krk-status-nokey.png');
  await noKey.screenshot({ path: noKeyShot, fullPage: true });
  seen.screenshots.push(noKeyShot);

  // ---------- and with a wrong key (the API answers 401 or 404: expected) ----------
  phase = 'wrong-key';
  const wrong = await stranger.newPage();
  current = wrong;
  watch(wrong, 'wrong-key');
  const refused = wrong.waitForResponse((r) => new URL(r.url()).pathname === `/api/v1/krk/applications/${appId}`);
  await wrong.goto(`${bare}#key=${'0'.repeat(match[2].length)}`);
  const refusal = await refused;
  await wrong.waitForSelector('#status-body .krk-msg-error');
  seen.wrongKey = { status: refusal.status(), message: (await wrong.textContent('#status-body')).trim() };
  if (![401, 403, 404].includes(seen.wrongKey.status)) throw new Error(`a wrong key was answered ${seen.wrongKey.status}`);
  await leaksNothing(wrong, 'with a wrong key');
  console.error(`ok   with a wrong key (${seen.wrongKey.status}): ${seen.wrongKey.message}`);
  phase = 'done';
  current = null;
  await stranger.close();

  if (problems.length) throw new Error(problems.join('\n'));
} catch (e) {
  failed = e.message;
  console.error(`FAIL ${e.message}`);
  if (current) {
    const failShot = join(out, 'krk-apply-failed.png');
    await current.waitForTimeout(500).catch(() => {});
    if (await current.screenshot({ path: failShot, fullPage: true }).then(() => true, () => false)) seen.screenshots.push(failShot);
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: !failed, ...seen, problems, warnings, error: failed }));
process.exit(failed ? 1 : 0);
