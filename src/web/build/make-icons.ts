/**
 * Renders the PNG app icons from public/icons/icon.svg with the system Chromium. Run once after
 * changing the drawing: `node --import tsx src/web/build/make-icons.ts` (the PNGs are committed).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const iconsDir = fileURLToPath(new URL('../public/icons/', import.meta.url));
const svg = readFileSync(`${iconsDir}icon.svg`, 'utf8');
// Full-bleed variants (maskable, Apple): square corners, the drawing inside the safe zone.
const fullBleed = svg
  .replace('<rect width="64" height="64" rx="16"', '<rect x="-16" y="-16" width="96" height="96"')
  .replace('viewBox="0 0 64 64"', 'viewBox="-9 -9 82 82"');

const targets = [
  { file: 'icon-192.png', size: 192, source: svg },
  { file: 'icon-512.png', size: 512, source: svg },
  { file: 'icon-maskable-512.png', size: 512, source: fullBleed },
  { file: 'apple-touch-icon.png', size: 180, source: fullBleed },
];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
for (const { file, size, source } of targets) {
  const page = await browser.newPage({ viewport: { width: size, height: size } });
  const sized = source.replace('<svg ', `<svg width="${size}" height="${size}" `);
  await page.setContent(`<style>html,body{margin:0;background:transparent}svg{display:block}</style>${sized}`);
  await page.screenshot({ path: `${iconsDir}${file}`, omitBackground: true });
  await page.close();
}
await browser.close();
console.log(`icons written to ${iconsDir}`);
