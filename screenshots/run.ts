/**
 * `npm run screenshots`: the pictures in docs/screenshots/, taken of the built web client on a
 * real server in Chromium. This is the only command that writes them; `npm test` never does.
 *
 *   npm run screenshots                 every scene, into docs/screenshots/
 *   npm run screenshots -- chat files   some scenes
 *   PARLEY_SCREENSHOTS_DIR=/tmp/shots npm run screenshots   somewhere else (CI checks the command this way)
 *
 * To add pictures, add a scene to screenshots/scenes/index.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasChromium } from '../test/e2e/support/browser.ts';
import { startWebTestbed, stopWebTestbed } from '../test/e2e/support/testbed.ts';
import { SCENES } from './scenes/index.ts';
import { camera } from './stage.ts';

const DOCS = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));

function hasChineseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

function fail(message: string): never {
  console.error(`screenshots: ${message}`);
  process.exit(1);
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !SCENES.some((scene) => scene.name === name));
if (unknown.length > 0) fail(`unknown scene ${unknown.join(', ')}; scenes: ${SCENES.map((scene) => scene.name).join(', ')}`);
const scenes = wanted.length === 0 ? SCENES : SCENES.filter((scene) => wanted.includes(scene.name));

if (!hasChromium) fail('/usr/bin/chromium is missing (Debian: apt-get install chromium).');
const chosen = process.env.PARLEY_SCREENSHOTS_DIR;
// Without a Chinese font, Chinese renders as empty boxes: never let that replace the committed pictures.
if (!chosen && !hasChineseFont()) fail('no Chinese font on this machine (Debian: apt-get install fonts-noto-cjk); set PARLEY_SCREENSHOTS_DIR to take them elsewhere anyway.');
const dir = chosen ? `${resolve(chosen)}/` : DOCS;
mkdirSync(dir, { recursive: true });

const written: string[] = [];
for (const scene of scenes) {
  const started = Date.now();
  const { server, browser } = await startWebTestbed(scene.flags ?? []);
  try {
    await scene.run({ server, browser, shoot: camera(dir, written) });
  } finally {
    await stopWebTestbed(browser, server);
  }
  console.log(`${scene.name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
console.log(`${written.length} screenshots written to ${dir}`);
