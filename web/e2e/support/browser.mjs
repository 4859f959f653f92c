// Headless Chromium (Debian's package, never a downloaded browser) with
// axe-core available in every page, and the checks each page gets.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');

export const VIEWPORT = { width: 1280, height: 900 };

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// The WCAG 2.2 A and AA rules (axe tags its 2.2 A rules under the 2.0/2.1 tags).
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium package (make deps does this)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/**
 * newContext opens a browser context for baseURL. axe-core is added as an
 * init script: those run outside the page's Content-Security-Policy, so the
 * policy stays fully in force for the app's own scripts and styles (no
 * bypassCSP) and any violation of it shows up as a console error below.
 */
export async function newContext(browser, baseURL) {
  const context = await browser.newContext({ baseURL, locale: 'en-GB', viewport: VIEWPORT });
  await context.addInitScript({ path: axePath });
  // Hermetic: nothing leaves the machine, and a request for another origin
  // (the build strips the NHS.UK stylesheet's third-party fonts) is refused.
  const origin = new URL(baseURL).origin;
  await context.route((url) => url.origin !== origin, (route) => route.abort('blockedbyclient'));
  return context;
}

/**
 * watchConsole collects console errors and uncaught exceptions of a page;
 * call the result to take (and clear) what was collected. A failed load of
 * the page's own document (a 404 or 422 page, say) is expected and ignored.
 */
export function watchConsole(page) {
  let problems = [];
  page.on('pageerror', (err) => problems.push(`uncaught exception: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = msg.location()?.url || '';
    if (msg.text().startsWith('Failed to load resource')) {
      // The page's own 4xx document (a 404 or 422 page) is expected, and
      // requests to other origins are blocked on purpose (see newContext).
      if (where === page.url() && /status of 4\d\d/.test(msg.text())) return;
      if (where && new URL(where).origin !== new URL(page.url()).origin) return;
    }
    problems.push(`console error: ${msg.text()}${where ? ` (${where})` : ''}`);
  });
  return () => {
    const out = problems;
    problems = [];
    return out;
  };
}

/** axeViolations runs axe-core's WCAG 2.2 A/AA rules on the page. */
export async function axeViolations(page) {
  return page.evaluate(async (tags) => {
    if (!window.axe) throw new Error('axe-core is not loaded in this page');
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: tags },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, WCAG_TAGS);
}

export function formatViolations(violations) {
  return violations.map((v) => [
    `  ${v.id} (${v.impact}): ${v.help}`,
    `    ${v.helpUrl}`,
    ...v.nodes.map((n) => `    - ${n.target}\n      ${String(n.summary).replace(/\n/g, '\n      ')}`),
  ].join('\n')).join('\n');
}

/** expectAccessible fails with every violation axe finds on the page. */
export async function expectAccessible(page, label) {
  const violations = await axeViolations(page);
  assert.equal(violations.length, 0,
    `${label} (${page.url()}) has ${violations.length} WCAG 2.2 A/AA violation(s):\n${formatViolations(violations)}`);
}

/**
 * expectReflow checks WCAG 1.4.10 (reflow): at 320 CSS pixels wide the page
 * scrolls only vertically. Wide tables scroll inside their own region.
 */
export async function expectReflow(page, label) {
  await page.setViewportSize({ width: 320, height: 800 });
  try {
    // The header script moves navigation items that no longer fit into its
    // "More" menu after a resize, so give the layout a moment to settle.
    let overflow;
    for (const deadline = Date.now() + 2_000; ;) {
      overflow = await measureOverflow(page);
      if (overflow === null || Date.now() > deadline) break;
      await page.waitForTimeout(100);
    }
    assert.equal(overflow, null, `${label} (${page.url()}) scrolls sideways at 320px: ${JSON.stringify(overflow)}`);
  } finally {
    await page.setViewportSize(VIEWPORT);
  }
}

function measureOverflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return null;
    const wide = [...document.body.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      .filter((el) => !el.closest('.nhsuk-scroll__content, .nhsuk-u-visually-hidden, .nhsuk-skip-link'))
      .slice(0, 5)
      .map((el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : '') + (el.className && typeof el.className === 'string' ? `.${el.className.trim().split(/\s+/).join('.')}` : ''));
    return { scrollWidth: document.documentElement.scrollWidth, width, wide };
  });
}
