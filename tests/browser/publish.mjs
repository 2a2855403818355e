// The publishing page as agencies and DPPR staff use it, in Debian's Chromium (playwright-core):
//
//   node tests/browser/publish.mjs http://127.0.0.1:8080 data.geojson [screenshot.png]
//
// A publisher (budi, of the agency dinkes) signs in, uploads the file as the dataset `posyandu`,
// writes its metadata; the dataset is internal (anonymous callers get 401); budi signs out, the
// staff member `staf` signs in and approves it; then anyone reads its features. No console error
// or CSP violation on the way. Both accounts' password is the second line of the usage above's
// environment: PUBLISH_PASSWORD. Exits 0 when every check holds, 1 otherwise.

import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const [base, file] = [process.argv[2], process.argv[3]];
const password = process.env.PUBLISH_PASSWORD;
if (!base || !file || !password) {
  console.error('usage: PUBLISH_PASSWORD=... node tests/browser/publish.mjs <base-url> <file.geojson> [screenshot.png]');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const screenshot = resolve(process.argv[4] || join(here, '..', '..', 'target', 'browser', 'publish.png'));
const STEP_MS = 20_000;
const problems = [];

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader', '--disable-gpu'],
});
let failed = false;
try {
  const page = await browser.newPage();
  // A 401 is an answer the page expects (it asks /api/v1/me whether anyone is signed in; the test
  // reads an internal dataset anonymously): the browser logs it, the page is not at fault.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.setDefaultTimeout(STEP_MS);

  const status = () => page.locator('#status');
  const signIn = async (name) => {
    await page.fill('#signin [name=name]', name);
    await page.fill('#signin [name=password]', password);
    await page.click('#signin button');
    await page.waitForSelector('#whoami:has-text("' + name + '")');
  };

  await page.goto(`${base}/publish`);
  await signIn('budi');
  console.log('ok   the publisher signed in (session cookie)');

  await page.fill('#upload [name=id]', 'posyandu');
  await page.setInputFiles('#upload [name=file]', file);
  await page.click('#upload button');
  await page.waitForFunction(() => /versi 1/.test(document.querySelector('#status').textContent));
  console.log(`ok   uploaded: ${await status().textContent()}`);

  const anonymous = await page.evaluate(async (url) => (await fetch(url, { credentials: 'omit' })).status, `${base}/ogc/collections/posyandu/items`);
  if (anonymous !== 401) throw new Error(`an internal dataset answered ${anonymous} to an anonymous caller`);
  console.log('ok   internal until approved: 401 to an anonymous caller');

  await page.click('#datasets tbody tr:has-text("posyandu") button:has-text("Metadata")');
  await page.fill('#metadata [name=title]', 'Posyandu Kota Balikpapan');
  await page.fill('#metadata [name=abstract]', 'Lokasi pos pelayanan terpadu.');
  await page.selectOption('#metadata [name=topic_category]', 'health');
  await page.fill('#metadata [name=keywords]', 'kesehatan, posyandu');
  await page.fill('#metadata [name="contact.email"]', 'dinkes@balikpapan.go.id');
  await page.fill('#metadata [name=lineage]', 'Pendataan kelurahan 2025.');
  await page.fill('#metadata [name=licence]', 'CC-BY-4.0');
  await page.selectOption('#metadata [name=update_frequency]', 'annually');
  await page.fill('#metadata [name=reference_date]', '2025-06-01');
  await page.click('#metadata button');
  await page.waitForFunction(() => /lengkap/.test(document.querySelector('#status').textContent));
  console.log(`ok   metadata: ${await status().textContent()}`);

  await page.click('#signout');
  await page.waitForSelector('#signin-section:not([hidden])');
  await signIn('staf');
  await page.click('#datasets tbody tr:has-text("posyandu") button:has-text("Setujui")');
  await page.waitForFunction(() => /publik/.test(document.querySelector('#status').textContent));
  console.log(`ok   approved by staff: ${await status().textContent()}`);

  const items = await page.evaluate(async (url) => {
    const r = await fetch(url, { credentials: 'omit' });
    return { status: r.status, body: await r.json() };
  }, `${base}/ogc/collections/posyandu/items`);
  if (items.status !== 200 || !items.body.features.length) throw new Error(`public items answered ${items.status}`);
  console.log(`ok   public: ${items.body.numberMatched} features to anyone`);

  await mkdir(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });

  // The dataset's OGC API page for people: its features on a small map, with their properties.
  await page.goto(`${base}/ogc/collections/posyandu/items?f=html`);
  await page.waitForFunction(() => document.querySelectorAll('#ogc-features tr').length > 1);
  const rows = await page.locator('#ogc-features tr').count();
  if (rows !== items.body.features.length + 1) throw new Error(`the items page lists ${rows - 1} features`);
  await page.waitForSelector('#ogc-map canvas');
  if (!(await page.locator('h1').isVisible())) throw new Error('the items page hides its title');
  await page.waitForTimeout(1000);
  const [canvas, frame] = await page.evaluate(() => [
    document.querySelector('#ogc-map canvas').getBoundingClientRect().width,
    document.querySelector('#ogc-map').getBoundingClientRect().width,
  ]);
  if (Math.abs(canvas - frame) > 4) throw new Error(`the map draws ${canvas} px of its ${frame} px frame`);
  // Not a full-page capture: resizing the viewport for it would catch the map mid-redraw.
  await page.screenshot({ path: screenshot.replace(/\.png$/, '-ogc.png') });
  console.log(`ok   the items page draws the map and lists ${rows - 1} features`);
  if (problems.length) throw new Error(problems.join('\n'));
} catch (e) {
  failed = true;
  console.error(`FAIL ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
