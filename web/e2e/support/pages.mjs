// What every journey does with its page: navigate and wait for the page
// that loads, check it (status, heading, organisation, console, axe-core,
// reflow), check error summaries, and sign in and out.
import assert from 'node:assert/strict';

import { expectAccessible, expectReflow, watchConsole } from './browser.mjs';

export function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * shownPath is the path of url for the list of checked pages, without the
 * secret of a link that works once (an invitation or a claim link).
 */
export function shownPath(url) {
  return new URL(url).pathname.replace(/^\/(join|claim)\/([^/]+)\/[^/]+$/, '/$1/$2/…');
}

/**
 * pageSteps returns the steps of a journey on page, for the server started
 * by startServer. Every page check adds a line to checked, which the journey
 * can print at the end.
 */
export function pageSteps(page, server) {
  const consoleProblems = watchConsole(page);
  const checked = [];

  /** navigate runs action and resolves with the final response of the page it loads. */
  async function navigate(action) {
    const responded = page.waitForEvent('response', (r) => r.request().isNavigationRequest() &&
      r.frame() === page.mainFrame() && !(r.status() >= 300 && r.status() < 400));
    const loaded = page.waitForEvent('load');
    const [response] = await Promise.all([responded, loaded, action()]);
    return response;
  }

  const visit = (path) => navigate(() => page.goto(path, { waitUntil: 'commit' }));

  const h1 = () => page.locator('main h1').innerText();

  /**
   * check asserts what every page must show and runs axe on it: the status,
   * the h1, the organisation in the header (or none), no script or policy
   * errors in the console, zero accessibility violations, and no sideways
   * scrolling on a 320px-wide screen.
   */
  async function check(label, response, { status = 200, heading, tenant = null }) {
    if (response.status() !== status) {
      const log = response.status() >= 500 ? `\nlast lines of the server's output:\n${await server.logTail()}` : '';
      const summary = await page.locator('.nhsuk-error-summary').allInnerTexts().catch(() => []);
      assert.fail(`${label}: HTTP status ${response.status()}, expected ${status}` +
        `${summary.length ? `\nerror summary: ${summary.join(' ').replace(/\s+/g, ' ')}` : ''}${log}`);
    }
    assert.equal((await h1()).trim(), heading, `${label}: h1`);
    assert.equal(await page.locator('main h1').count(), 1, `${label}: exactly one h1`);
    const banner = page.locator('header[role="banner"]');
    const tenantName = banner.locator('.cp-header-tenant');
    if (tenant) {
      assert.equal((await tenantName.innerText()).trim(), tenant, `${label}: organisation in the header`);
      assert.match(await page.title(), new RegExp(`${escapeRegExp(tenant)} – Carepass$`), `${label}: title names the organisation`);
    } else {
      assert.equal(await tenantName.count(), 0, `${label}: no organisation in the header`);
    }
    assert.deepEqual(consoleProblems(), [], `${label}: console`);
    await expectAccessible(page, label);
    await expectReflow(page, label);
    checked.push(`${label} (${shownPath(page.url())})`);
  }

  /**
   * nav returns the primary navigation's labels, in order, and the current
   * one. Items that do not fit the width are moved by the header's script
   * into its "More" menu; they count too.
   */
  async function nav() {
    const items = page.locator('.nhsuk-header__navigation-list > .nhsuk-header__navigation-item:not(.nhsuk-header__menu)');
    const more = page.locator('.nhsuk-header__menu-list .nhsuk-header__navigation-item');
    const labels = [...await items.locator('a').allTextContents(), ...await more.locator('a').allTextContents()]
      .map((s) => s.trim());
    const current = (await page.locator('.nhsuk-header__navigation-list a[aria-current="page"]').allInnerTexts()).map((s) => s.trim());
    return { labels, current };
  }

  /** expectErrorSummary checks the error summary: messages, focus and working links. */
  async function expectErrorSummary(label, messages) {
    const summary = page.locator('.nhsuk-error-summary');
    await summary.waitFor();
    const items = (await summary.locator('.nhsuk-error-summary__list li').allInnerTexts()).map((s) => s.trim());
    assert.deepEqual(items, messages, `${label}: error summary`);
    assert.match(await page.title(), /^Error: /, `${label}: title starts with "Error:"`);
    await page.waitForFunction(() => document.activeElement?.closest('.nhsuk-error-summary'));
    for (const link of await summary.locator('a').all()) {
      const target = (await link.getAttribute('href')).replace(/^#/, '');
      assert.equal(await page.locator(`[id="${target}"]`).count(), 1, `${label}: error link #${target} has a target`);
    }
  }

  async function signIn(email, password) {
    await page.getByLabel('Email address').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    return navigate(() => page.getByRole('button', { name: 'Sign in' }).click());
  }

  /** signOut signs out from any page with the account menu and lands on the sign-in page. */
  async function signOut() {
    const res = await navigate(() => page.getByRole('navigation', { name: 'Account' })
      .getByRole('button', { name: 'Sign out' }).click());
    assert.equal(new URL(page.url()).pathname, '/signin', 'signing out leads to the sign-in page');
    return res;
  }

  /** menuLink is the primary navigation's link named name, opening the "More" menu when it is in there. */
  async function menuLink(name) {
    const link = page.getByRole('navigation', { name: 'Menu' }).getByRole('link', { name, exact: true });
    if (!(await link.isVisible())) {
      const toggle = page.locator('.nhsuk-header__menu-toggle');
      if (await toggle.isVisible()) await toggle.click();
    }
    return link;
  }

  return { checked, consoleProblems, navigate, visit, h1, check, nav, menuLink, expectErrorSummary, signIn, signOut };
}
