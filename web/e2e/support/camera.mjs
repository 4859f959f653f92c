// A camera for browser tests: Chromium's fake capture device playing a
// video, made here, of one QR code held up to the camera.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium } from 'playwright-core';

import { CHROMIUM } from './browser.mjs';
import { repoRoot } from './server.mjs';

// Go is often only in /usr/local/go/bin (as in server.mjs).
const toolPath = [process.env.PATH, '/usr/local/go/bin'].filter(Boolean).join(delimiter);

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: { ...process.env, PATH: toolPath }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => { out += b; });
    child.stderr.on('data', (b) => { out += b; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

/**
 * buildQRFrame builds the qrframe helper (support/qrframe) into dir and
 * returns a function that writes a Y4M video of one QR code:
 * make(out, { text }) for a code of text, make(out, { image }) for a PNG
 * picture of one (a screenshot of the code a page shows).
 */
export async function buildQRFrame(dir) {
  const bin = join(dir, 'qrframe');
  await run('go', ['build', '-o', bin, './web/e2e/support/qrframe']);
  return async (out, { text, image }) => {
    await run(bin, ['-out', out, ...(image ? ['-image', image] : ['-text', text])]);
    return out;
  };
}

/**
 * launchWithCamera starts Chromium with a fake camera that plays video (a
 * .y4m file) in a loop. With allow (the default) every request for the
 * camera is granted without a prompt; without it the request is refused,
 * as when someone answers "Block".
 */
export async function launchWithCamera(video, { allow = true } = {}) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium package (make deps does this)`);
  }
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video}`];
  if (allow) args.push('--use-fake-ui-for-media-stream');
  else args.push('--deny-permission-prompts');
  return chromium.launch({ executablePath: CHROMIUM, args });
}
