// Debian's Chromium, headless, driven by playwright-core: the one way every
// browser test here starts it. playwright-core comes from MASTHEAD_NODE_MODULES
// when set (scripts/test sets it), else from tests/browser/node_modules. The
// flags keep Chromium off the network this machine does not have.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const modules = process.env.MASTHEAD_NODE_MODULES ?? new URL('./node_modules', import.meta.url).pathname;

/** A package from the test's node_modules (`file` inside it, e.g. 'dist/index.mjs'). */
export const load = (name, file) => import(pathToFileURL(join(modules, name, file)).href);

/** Starts the browser; `extra` are more command-line flags. */
export async function launch(extra = []) {
  const { chromium } = await load('playwright-core', 'index.mjs');
  const executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extra],
  });
}
