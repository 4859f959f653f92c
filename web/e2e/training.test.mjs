// The training journey in a real browser: a parent finds today's drop-in
// session in a carers' centre's public calendar without signing in, signs
// in from the session's page and books a place, telling the centre about
// herself since she is not yet one of its carers (refused first without
// her role in care); the confirmation email, with its calendar invite,
// arrives at the mail catcher; the centre's trainer takes the register on
// the day and marks her present; her passport then shows training
// attended, and her bookings page says she attended. Every page
// visited must have zero WCAG 2.2 A/AA violations according to axe-core and
// reflow at 320 CSS pixels.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launch, newContext } from './support/browser.mjs';
import { escapeRegExp, pageSteps } from './support/pages.mjs';
import { startServer } from './support/server.mjs';

const PASSWORD = 'carepass-demo-2026';
const TRUST = "Lanternfield Carers' Centre";
const SLUG = 'lanternfield-carers';
const PARENT = 'amira.okafor@demo.carepass.example';
const PARENT_NAME = 'Amira Okafor';
const TRAINER = 'trainer.charity@demo.carepass.example';
const COURSE = 'Introduction to caring skills';
const DROP_IN_PLACE = "Parents' room, ward 4";

const squash = (s) => s.replace(/\s+/g, ' ').trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('training in a browser', { concurrency: false }, () => {
  let server;
  let browser;
  let who;
  const found = { session: '', recorded: [] };

  before(async () => {
    server = await startServer();
    browser = await launch();
    const page = await (await newContext(browser, server.baseURL)).newPage();
    page.setDefaultTimeout(15_000);
    who = { page, steps: pageSteps(page, server) };
  }, { timeout: 600_000 });

  after(async () => {
    await browser?.close();
    await server?.stop();
    if (who?.steps.checked.length) {
      console.log(`axe-core found no WCAG 2.2 A/AA violations on ${who.steps.checked.length} pages:\n  ${who.steps.checked.join('\n  ')}`);
    }
  });

  const main = () => who.page.locator('main');

  test('anyone finds the drop-in session in the public calendar', async () => {
    const { page, steps } = who;
    await steps.check('Public calendar (list)', await steps.visit(`/t/${SLUG}/calendar`), { heading: 'Training calendar', tenant: TRUST });
    await steps.check('Public calendar (month)', await steps.visit(`/t/${SLUG}/calendar?view=month`), { heading: 'Training calendar', tenant: TRUST });
    assert.equal(await page.locator('main table caption').count(), 1, 'the month is a table with a caption');
    await steps.check('Public calendar (list)', await steps.visit(`/t/${SLUG}/calendar?view=list`), { heading: 'Training calendar', tenant: TRUST });
    // Today's drop-in is the session at the parents' room.
    const card = main().locator('.nhsuk-card').filter({ hasText: DROP_IN_PLACE }).first();
    assert.match(squash(await card.innerText()), new RegExp(escapeRegExp(COURSE)));
    const res = await steps.navigate(() => card.getByRole('link', { name: COURSE }).click());
    await steps.check('Session (signed out)', res, { heading: COURSE, tenant: TRUST });
    found.session = new URL(page.url()).pathname;
    assert.match(found.session, new RegExp(`^/t/${SLUG}/calendar/sessions/[0-9a-f-]{36}$`));
    assert.match(squash(await main().innerText()), new RegExp(escapeRegExp(DROP_IN_PLACE)));
    // The poster's QR code is offered for the session.
    const qr = await page.request.get(`${found.session}/qr.png`);
    assert.equal(qr.status(), 200);
    assert.equal(qr.headers()['content-type'], 'image/png');
  });

  test('the parent signs in from the session and books a place', async () => {
    const { page, steps } = who;
    await steps.navigate(() => main().getByRole('link', { name: 'Sign in to book a place' }).click());
    assert.equal(new URL(page.url()).pathname, '/signin');
    const res = await steps.signIn(PARENT, PASSWORD);
    assert.equal(new URL(page.url()).pathname, found.session, 'back at the session after signing in');
    await steps.check('Session (signed in)', res, { heading: COURSE, tenant: TRUST });
    // Not yet one of the centre's carers: she is asked about herself first.
    const asked = await steps.navigate(() => main().getByRole('button', { name: 'Book a place' }).click());
    const about = `Tell ${TRUST} about yourself`;
    await steps.check('About yourself', asked, { heading: about, tenant: TRUST });
    await page.getByLabel('Day').fill('12');
    await page.getByLabel('Month').fill('4');
    await page.getByLabel('Year').fill('1988');
    const refused = await steps.navigate(() => main().getByRole('button', { name: 'Book a place' }).click());
    await steps.check('About yourself, without a role in care', refused, { status: 422, heading: about, tenant: TRUST });
    assert.equal(await page.locator('.nhsuk-error-summary').count(), 1, 'an error summary');
    await main().locator('input[name="role_in_care"]').first().check();
    const booked = await steps.navigate(() => main().getByRole('button', { name: 'Book a place' }).click());
    await steps.check('Booking confirmed', booked, { heading: 'Booking confirmed', tenant: TRUST });
    const mine = await steps.visit('/me/training');
    await steps.check('Your training bookings', mine, { heading: 'Your training bookings' });
    const card = main().locator('.nhsuk-card').filter({ hasText: DROP_IN_PLACE });
    assert.equal(await card.count(), 1, 'the booking is listed');
    assert.match(squash(await card.innerText()), /Booked|place/i);
  });

  test('the confirmation email arrives with a calendar invite', async () => {
    let message;
    for (let i = 0; i < 100 && !message; i++) {
      const all = await server.mail.messages();
      message = all.find((m) => /amira/i.test(JSON.stringify(m.to)) && m.subject.includes(COURSE) &&
        /confirm/i.test(m.subject));
      if (!message) await sleep(200);
    }
    assert.ok(message, 'a booking confirmation reached the mail catcher within 20 seconds');
    assert.match(squash(message.text), new RegExp(escapeRegExp(DROP_IN_PLACE)));
    assert.ok(message.html.includes(COURSE), 'the HTML part names the course');
    const invite = (message.attachments || []).find((a) => /\.ics$/.test(a.generatedFileName || a.fileName));
    assert.ok(invite, 'an .ics attachment');
    const ics = await server.mail.attachment(message.id, invite.generatedFileName || invite.fileName);
    assert.match(ics, /BEGIN:VCALENDAR/);
    assert.match(ics, /METHOD:REQUEST/);
    assert.match(ics, /TZID=Europe\/London/);
  });

  test('the trainer marks her present on the register', async () => {
    const { page, steps } = who;
    await steps.signOut();
    await steps.signIn(TRAINER, PASSWORD);
    const sessionID = found.session.split('/').pop();
    const res = await steps.visit(`/t/${SLUG}/training/sessions/${sessionID}/register`);
    await steps.check('Register', res, { heading: COURSE, tenant: TRUST });
    const present = main().getByRole('button', { name: new RegExp(`^Present\\s*:\\s*${escapeRegExp(PARENT_NAME)}$`) });
    // The register answers with the page again, at the person's card (a
    // fragment), so wait for that page rather than for a new document.
    const [after] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname.endsWith('/register')),
      present.click(),
    ]);
    await page.waitForLoadState('load');
    await steps.check('Register, after marking present', after, { heading: COURSE, tenant: TRUST });
    const text = squash(await main().innerText());
    assert.match(text, new RegExp(`${escapeRegExp(PARENT_NAME)}.*(Present|Attended)`, 'i'));
    // What was written into her passport is named on the page.
    const recorded = /Recorded in their passport: training attended in ([^.]+)\./.exec(text);
    found.recorded = recorded ? recorded[1].split(/,\s*/) : [];
    assert.ok(found.recorded.length > 0, `the register names the competencies recorded: ${text}`);
    assert.ok(page.url().includes('/register'));
  });

  test('her passport shows training attended, and her bookings that she came', async () => {
    const { steps } = who;
    await steps.signOut();
    await steps.signIn(PARENT, PASSWORD);
    const res = await steps.visit('/me/passport');
    await steps.check('Your passport', res, { heading: 'Your passport' });
    const text = squash(await main().innerText());
    const shown = found.recorded.filter((code) => new RegExp(`${escapeRegExp(code)}.{0,200}Training attended`).test(text));
    assert.ok(shown.length > 0, `one of ${found.recorded.join(', ')} shows as training attended in: ${text.slice(0, 2000)}`);
    const mine = await steps.visit('/me/training');
    await steps.check('Your training bookings, afterwards', mine, { heading: 'Your training bookings' });
    const card = main().locator('.nhsuk-card').filter({ hasText: DROP_IN_PLACE });
    assert.match(squash(await card.innerText()), /Attended/i);
  });

  test('no console or policy errors on any page', () => {
    assert.deepEqual(who.steps.consoleProblems(), []);
  });
});
