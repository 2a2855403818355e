// DPPR staff issue a KRK (city-plan certificate) from the web page, in Debian's Chromium
// (playwright-core):
//
//   node tests/browser/krk.mjs <base-url> <staff-name> <staff-password> <out-dir>
//
// The staff member opens /krk/staff, signs in, waits for the queue to list at least one
// application (the Rust test submits it), opens the first, sees its review (the parcel on the map,
// the draft), presses "Terbitkan KRK" and waits for the certificate's number
// (0001/KRK/DPPR/XI/2026). The PDF link answers a PDF; the verification link (the QR code's, with
// its signature) shows the certificate as valid. No console error or uncaught exception on the way.
// Screenshots: <out-dir>/krk-staff.png and <out-dir>/krk-verify.png. Prints one JSON line of what it
// saw; exits 0 when every check holds, 1 otherwise (2 on bad arguments).

import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';

const [base, staffName, staffPassword, outArg] = process.argv.slice(2);
if (!base || !staffName || !staffPassword || !outArg) {
  console.error('usage: node tests/browser/krk.mjs <base-url> <staff-name> <staff-password> <out-dir>');
  process.exit(2);
}
const out = resolve(outArg);
const STEP_MS = 30_000;
const NUMBER = /^\d{4}\/KRK\/DPPR\/[IVX]+\/\d{4}$/;
const problems = [];
const seen = { base, queue: null, application: null, number: null, pdf: null, verify: null, screenshots: [] };

await mkdir(out, { recursive: true });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
});
let failed = null;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // A 401 is an answer the page expects (it asks for the queue before anyone signed in): the
  // browser logs it, the page is not at fault.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.setDefaultTimeout(STEP_MS);

  await page.goto(`${base}/krk/staff`);
  await page.waitForSelector('#signin-name', { state: 'visible' });
  await page.fill('#signin-name', staffName);
  await page.fill('#signin-password', staffPassword);
  await page.click('#signin-submit');
  await page.waitForSelector('#queue tbody tr[data-id]');
  seen.queue = await page.locator('#queue tbody tr[data-id]').count();
  console.error(`ok   signed in; the queue lists ${seen.queue} application(s)`);

  const first = page.locator('#queue tbody tr[data-id]').first();
  seen.application = await first.getAttribute('data-id');
  await first.click();
  await page.waitForSelector('#review:not([hidden]) #issue');
  const parts = await page.locator('#review .krk-parts tbody tr').count();
  if (!parts) throw new Error('the review shows no sub-zone of the parcel');
  console.error(`ok   review of ${seen.application}: ${parts} sub-zone row(s)`);

  await page.click('#issue');
  await page.waitForFunction((re) => new RegExp(re).test((document.querySelector('#issued-number') || {}).textContent || ''), NUMBER.source);
  seen.number = (await page.textContent('#issued-number')).trim();
  if (!NUMBER.test(seen.number)) throw new Error(`the number is "${seen.number}"`);
  console.error(`ok   issued ${seen.number}`);

  const pdfUrl = await page.$eval('#issued-pdf', (a) => a.href);
  const verifyUrl = await page.$eval('#issued-verify', (a) => a.href);
  seen.pdf = await page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    const bytes = new Uint8Array(await r.arrayBuffer());
    return {
      url, status: r.status, type: r.headers.get('content-type'), bytes: bytes.length,
      head: String.fromCharCode(...bytes.slice(0, 5)),
    };
  }, pdfUrl);
  if (seen.pdf.status !== 200) throw new Error(`the PDF answered ${seen.pdf.status}`);
  if (!/^application\/pdf/.test(seen.pdf.type || '')) throw new Error(`the PDF is ${seen.pdf.type}`);
  if (seen.pdf.head !== '%PDF-') throw new Error(`the PDF starts with ${JSON.stringify(seen.pdf.head)}`);
  console.error(`ok   the PDF: ${seen.pdf.bytes} bytes`);

  // The review's map: the parcel over the zoning (a screenshot of a blank frame would tell nothing).
  await page.waitForSelector('#review-map[data-state=loaded] canvas');
  await page.waitForTimeout(1000);
  const staffShot = join(out, 'krk-staff.png');
  await page.screenshot({ path: staffShot, fullPage: true });
  seen.screenshots.push(staffShot);

  await page.goto(verifyUrl);
  await page.waitForSelector('#verify-status:not([data-status=loading])');
  seen.verify = await page.$eval('#verify-status', (el) => ({
    url: location.href,
    status: el.dataset.status,
    word: el.querySelector('.word').textContent,
    number: (document.querySelector('#verify-summary .v-number') || {}).textContent || null,
  }));
  if (seen.verify.status !== 'valid') throw new Error(`the verification page says ${seen.verify.status} (${seen.verify.word})`);
  if (seen.verify.number !== seen.number) throw new Error(`the verification page shows number ${seen.verify.number}`);
  console.error(`ok   the verification page: ${seen.verify.word}`);
  const verifyShot = join(out, 'krk-verify.png');
  await page.screenshot({ path: verifyShot, fullPage: true });
  seen.screenshots.push(verifyShot);
  if (problems.length) throw new Error(problems.join('\n'));
} catch (e) {
  failed = e.message;
  console.error(`FAIL ${e.message}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ ok: !failed, ...seen, problems, error: failed }));
process.exit(failed ? 1 : 0);
