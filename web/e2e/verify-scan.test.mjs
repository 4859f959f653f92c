// Checking a carer passport by scanning its QR code with the camera, in a
// real browser whose camera (Chromium's fake capture device) shows the QR
// code of a passport a passport officer has just issued. Without script the
// check page is a plain form; with it, a QR code that is not a passport is
// named as such, a refused camera is explained, and a passport's QR code is
// read, sent as a scanned QR code and confirmed. Every page visited must
// have zero WCAG 2.2 A/AA violations according to axe-core.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { expectAccessible, expectReflow, launch, newContext, VIEWPORT } from './support/browser.mjs';
import { buildQRFrame, launchWithCamera } from './support/camera.mjs';
import { escapeRegExp, pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const OFFICER = 'passport-officer.charity@demo.carepass.example';
const CHARITY = "Lanternfield Carers' Centre";
const SLUG = 'lanternfield-carers';
const CARER = 'Helen Ashdown';
const HEADING = 'Check a carer passport';
const NOT_CONFIRMED = 'This passport cannot be confirmed as valid';
const SCAN_TIMEOUT_MS = 12_000; // from pressing the button to a QR code read (within the 15 s page timeout)

describe('scanning a passport QR code on /verify', { concurrency: false }, () => {
  let server;
  let dir;
  let makeVideo;
  const browsers = [];
  const checked = [];

  // The officer's browser, which issues the passport; it has no camera.
  let officer;
  const passport = { path: '', heading: '', code: '', qr: '', video: '' };
  let otherVideo = ''; // a QR code that is not a passport's

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carepass-scan-'));
    // Both finish before a failure is reported, so that clean-up finds them done.
    const [started, built] = await Promise.allSettled([startServer(), buildQRFrame(dir)]);
    server = started.value;
    makeVideo = built.value;
    if (started.status === 'rejected') throw started.reason;
    if (built.status === 'rejected') throw built.reason;
    otherVideo = await makeVideo(join(dir, 'other.y4m'), { text: 'https://example.org/not-a-passport' });
    const browser = await launch();
    browsers.push(browser);
    const page = await (await newContext(browser, server.baseURL)).newPage();
    page.setDefaultTimeout(15_000);
    officer = { page, steps: pageSteps(page, server) };
  }, { timeout: 600_000 });

  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    if (checked.length) {
      console.log(`axe-core found no WCAG 2.2 A/AA violations on ${checked.length} pages:\n  ${checked.join('\n  ')}`);
    }
  });

  /**
   * verifyPage opens /verify in a browser whose camera plays video, and
   * returns the page and its steps. With allow false the browser refuses
   * the camera.
   */
  async function verifyPage(video, { allow = true } = {}) {
    const browser = await launchWithCamera(video, { allow });
    browsers.push(browser);
    const page = await (await newContext(browser, server.baseURL)).newPage();
    page.setDefaultTimeout(15_000);
    const steps = pageSteps(page, server);
    const res = await steps.visit('/verify');
    await steps.check('Check a passport, with a camera', res, { heading: HEADING });
    checked.push(...steps.checked.splice(0));
    assert.equal(await page.locator('#verify-scan').isVisible(), true,
      'the scanner is offered (its script ran, and the Permissions-Policy lets the page use the camera)');
    return { page, steps };
  }

  /**
   * checkOfficerPage checks a page of the officer's journey (the status, the
   * h1, the console and axe-core) without the sideways-scrolling check at
   * 320px: here these pages only set the scene (carer-passports.test.mjs
   * checks them in full); the check pages of this test get every check.
   */
  async function checkOfficerPage(label, res, { status = 200, heading }) {
    const { page, steps } = officer;
    assert.equal(res.status(), status, `${label}: HTTP status`);
    assert.equal((await steps.h1()).trim(), heading, `${label}: h1`);
    assert.deepEqual(steps.consoleProblems(), [], `${label}: console`);
    await expectAccessible(page, label);
    checked.push(`${label} (${new URL(page.url()).pathname})`);
  }

  /** issued fails a test that needs the passport when the first test could not issue it. */
  function issued() {
    assert.ok(passport.video, 'no passport was issued: see the first test');
  }

  const scanner = (page) => ({
    panel: page.locator('#verify-scan'),
    start: page.getByRole('button', { name: 'Scan a QR code with the camera' }),
    stop: page.getByRole('button', { name: 'Stop scanning' }),
    video: page.locator('#scan-video'),
    status: page.locator('#scan-status'),
  });

  /** cameraOn tells whether the preview plays a live camera stream. */
  const cameraOn = (page) => page.locator('#scan-video').evaluate((v) => {
    const s = v.srcObject;
    return Boolean(s && s.getVideoTracks().some((t) => t.readyState === 'live') && !v.paused);
  });

  test('a passport officer issues a passport, whose QR code the camera will show', async () => {
    const { page, steps } = officer;
    let res = await steps.visit('/signin');
    await checkOfficerPage('Sign in', res, { heading: 'Sign in to Carepass' });
    res = await steps.signIn(OFFICER, PASSWORD);
    assert.equal(new URL(page.url()).pathname, '/', 'signed in');

    res = await steps.visit(`/t/${SLUG}/carer-passports/new`);
    await checkOfficerPage('Issue a passport: find the carer', res, { heading: 'Issue a carer passport' });
    await page.getByLabel("Carer's name").fill('Ashdown');
    res = await steps.navigate(() => page.getByRole('button', { name: 'Find' }).click());
    await checkOfficerPage('Issue a passport: carers found', res, { heading: 'Issue a carer passport' });
    res = await steps.navigate(() => page.getByRole('link', { name: `Issue to ${CARER}` }).click());
    await checkOfficerPage('Issue a passport', res, { heading: 'Issue a carer passport' });

    // A scheme that does not end with a hospital stay.
    const schemes = page.locator('.nhsuk-radios__item').filter({ has: page.locator('input[name="scheme"]') });
    const count = await schemes.count();
    assert.ok(count > 0, 'the charity has a scheme to issue under');
    let chosen = false;
    for (let i = 0; i < count && !chosen; i++) {
      const item = schemes.nth(i);
      if (/hospital stay/.test(await item.innerText())) continue;
      await item.locator('input').check();
      chosen = true;
    }
    assert.ok(chosen, 'a scheme that is not for a hospital stay');
    await page.getByLabel('Name of the person they care for').fill('Arthur Ashdown');
    await page.getByLabel('Relationship to them').fill('Husband');
    await page.getByLabel('Who gave consent').fill('Arthur Ashdown');
    await page.locator('input[name="consent_method"]').first().check();
    const consent = new Date(Date.now() - 7 * 86_400_000); // a week ago, whatever the time zones
    await page.getByLabel('Day').fill(String(consent.getUTCDate()));
    await page.getByLabel('Month').fill(String(consent.getUTCMonth() + 1));
    await page.getByLabel('Year').fill(String(consent.getUTCFullYear()));
    res = await steps.navigate(() => page.getByRole('button', { name: 'Issue passport' }).click());
    if (res.status() !== 200) {
      const summary = await page.locator('.nhsuk-error-summary').allInnerTexts();
      assert.fail(`issuing answered ${res.status()}: ${summary.join(' ').replace(/\s+/g, ' ')}`);
    }
    assert.match(new URL(page.url()).pathname, new RegExp(`^/t/${SLUG}/carer-passports/[0-9a-f-]{36}$`), 'on the new passport');
    // The heading is the carer's name, with the scheme as its caption.
    passport.heading = (await steps.h1()).trim();
    assert.match(passport.heading, new RegExp(`^${escapeRegExp(CARER)}\\b`), 'the passport of the carer');
    await checkOfficerPage('Passport issued', res, { heading: passport.heading });

    passport.path = new URL(page.url()).pathname;
    passport.code = (await page.locator('#passport-code').innerText()).trim();
    assert.match(passport.code, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/, 'the passport code is shown');
    const api = await page.request.get(`/api/v1${passport.path}`);
    assert.equal(api.status(), 200, 'the passport as JSON');
    passport.qr = (await api.json()).passport.qr;
    assert.ok(passport.qr.startsWith('CP1:'), 'a passport QR code says CP1:');

    // The camera shows the QR code exactly as the officer's page draws it.
    const qr = page.locator('#passport-qr');
    await qr.evaluate((img) => img.decode());
    const png = join(dir, 'passport-qr.png');
    await qr.screenshot({ path: png });
    passport.video = await makeVideo(join(dir, 'passport.y4m'), { image: png });
  });

  test('without script the check page is a form, and the scanner stays hidden', async () => {
    issued();
    const browser = browsers[0];
    const context = await browser.newContext({ baseURL: server.baseURL, locale: 'en-GB', viewport: VIEWPORT, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const res = await page.goto('/verify');
      assert.equal(res.status(), 200);
      assert.equal(await page.locator('#verify-scan').isVisible(), false, 'no scanner without script');
      assert.equal(await page.locator('#verify-channel').inputValue(), 'code');
      await page.getByLabel('Passport code').fill(passport.code);
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/verify'),
        page.getByRole('button', { name: 'Check passport' }).click(),
      ]);
      assert.equal(answer.status(), 200);
      await page.waitForLoadState();
      assert.equal(new URLSearchParams(answer.request().postData() ?? '').get('channel'), 'code', 'sent as a typed code');
      const result = (await page.locator('#verify-result').innerText()).replace(/\s+/g, ' ');
      assert.match(result, /Registered carer/, 'a typed code is checked');
      assert.match(result, new RegExp(escapeRegExp(CARER)));
    } finally {
      await context.close();
    }
  });

  test('a QR code that is not a passport is named as such, and scanning goes on until stopped', async () => {
    const { page, steps } = await verifyPage(otherVideo);
    const s = scanner(page);
    assert.equal(await s.video.isVisible(), false, 'no preview before scanning');
    assert.equal(await s.stop.isVisible(), false);

    await s.start.click();
    await page.waitForFunction(() => /not a Carepass passport/.test(document.getElementById('scan-status').textContent),
      null, { timeout: SCAN_TIMEOUT_MS }).catch(async () => {
      assert.fail(`the other QR code was not read within ${SCAN_TIMEOUT_MS / 1000}s; the scanner says: "${(await s.status.innerText()).trim()}"`);
    });
    assert.equal(await s.video.isVisible(), true, 'the preview shows while scanning');
    assert.equal(await s.start.isVisible(), false);
    assert.equal(await s.stop.isVisible(), true);
    assert.equal(await s.stop.evaluate((b) => b === document.activeElement), true, 'focus moves to "Stop scanning"');
    assert.equal(await cameraOn(page), true, 'the camera is on');
    await expectAccessible(page, 'Check a passport, scanning');
    await expectReflow(page, 'Check a passport, scanning');
    checked.push('Check a passport, scanning (/verify)');

    // It keeps scanning: still here, the camera still on, nothing sent.
    await page.waitForTimeout(1_500);
    assert.equal(new URL(page.url()).pathname, '/verify');
    assert.equal(await page.locator('#verify-result').count(), 0, 'nothing was checked');
    assert.equal(await cameraOn(page), true, 'the camera is still on');
    assert.equal(await page.locator('#verify-text').inputValue(), '', 'the other code was not put in the form');

    await s.stop.click();
    assert.equal((await s.status.innerText()).trim(), 'Scanning stopped.');
    assert.equal(await cameraOn(page), false, 'the camera is off');
    assert.equal(await s.video.isVisible(), false);
    assert.equal(await s.start.evaluate((b) => b === document.activeElement), true, 'focus returns to the scan button');
    assert.deepEqual(steps.consoleProblems(), [], 'console');
  });

  test('a refused camera is explained', async () => {
    const { page, steps } = await verifyPage(otherVideo, { allow: false });
    const s = scanner(page);
    await s.start.click();
    await page.waitForFunction(() => /permission was not given/.test(document.getElementById('scan-status').textContent),
      null, { timeout: SCAN_TIMEOUT_MS }).catch(async () => {
      assert.fail(`no word of the refusal within ${SCAN_TIMEOUT_MS / 1000}s; the scanner says: "${(await s.status.innerText()).trim()}"`);
    });
    assert.match(await s.status.innerText(), /type the passport code instead/);
    assert.equal(await s.start.isVisible(), true, 'it can be tried again');
    assert.equal(await s.video.isVisible(), false);
    assert.equal(new URL(page.url()).pathname, '/verify');
    await expectAccessible(page, 'Check a passport, camera refused');
    checked.push('Check a passport, camera refused (/verify)');
    assert.deepEqual(steps.consoleProblems(), [], 'console');
  });

  test("scanning a passport's QR code checks it as a scanned QR code", async () => {
    issued();
    const { page, steps } = await verifyPage(passport.video);
    const s = scanner(page);

    let posted;
    const res = await steps.navigate(async () => {
      const sent = page.waitForRequest((r) => r.method() === 'POST' && new URL(r.url()).pathname === '/verify',
        { timeout: SCAN_TIMEOUT_MS });
      await s.start.click();
      try {
        posted = await sent;
      } catch {
        assert.fail(`the QR code was not read within ${SCAN_TIMEOUT_MS / 1000}s; the scanner says: ` +
          `"${(await s.status.innerText()).trim()}" (reader: ${await s.panel.getAttribute('data-decoder')})`);
      }
    });
    const form = new URLSearchParams(posted.postData() ?? '');
    assert.equal(form.get('channel'), 'qr', 'sent as a scanned QR code');
    assert.equal(form.get('text'), passport.qr, 'the text of the QR code, exactly');
    assert.ok(form.get('_csrf'), 'with the form\'s CSRF token');

    await steps.check('Check a passport, scanned', res, { heading: HEADING });
    checked.push(...steps.checked.splice(0));
    const result = page.locator('#verify-result');
    const text = (await result.innerText()).replace(/\s+/g, ' ');
    assert.doesNotMatch(text, new RegExp(escapeRegExp(NOT_CONFIRMED)));
    assert.match(text, /Registered carer/, 'the passport is confirmed');
    assert.match(text, new RegExp(`Name ${escapeRegExp(CARER)}`));
    assert.match(text, new RegExp(`Issued by ${escapeRegExp(CHARITY)}`));

    // The issuer sees the check, made by scanning.
    const o = officer;
    const back = await o.steps.visit(passport.path);
    await checkOfficerPage('Passport, after the scan', back, { heading: passport.heading });
    const rows = (await o.page.getByRole('table', { name: 'Checks of the passport, newest first' }).locator('tbody tr').allInnerTexts())
      .map((r) => r.replace(/\s+/g, ' ').trim());
    assert.ok(rows.length >= 1, 'a check is listed');
    assert.match(rows[0], /QR code scanned Confirmed as valid$/, `the newest check: ${rows[0]}`);
  });
});
