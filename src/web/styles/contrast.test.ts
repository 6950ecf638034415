import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PALETTE } from '../lib/avatar.ts';

/**
 * The colour pairs axe-core cannot judge in the browser (text on a gradient, every avatar colour,
 * states the e2e views may not show), checked from the design tokens themselves. Thresholds are
 * WCAG 2.1 AA: 4.5:1 for text, 3:1 for focus rings and state graphics.
 */
const css = readFileSync(new URL('./base.css', import.meta.url), 'utf8');
const TEXT = 4.5;
const GRAPHIC = 3;

type Rgb = [number, number, number];

function tokens(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*([^;]+);/g)].map((m) => [m[1]!, m[2]!.trim()]));
}
const light = tokens(css.slice(css.indexOf(':root {'), css.indexOf('@media (prefers-color-scheme: dark)')));
const dark = { ...light, ...tokens(css.slice(css.indexOf('@media (prefers-color-scheme: dark)'))) };

const hex = (value: string): Rgb => {
  const h = /#([0-9a-f]{6})\b/i.exec(value)![1]!;
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;
};
/** An rgba() token laid over an opaque colour. */
const over = (value: string, base: Rgb): Rgb => {
  const [r, g, b, a] = /rgba\(([^)]+)\)/.exec(value)![1]!.split(',').map(Number) as [number, number, number, number];
  return [r, g, b].map((c, i) => c * a + base[i]! * (1 - a)) as Rgb;
};
const mix = (a: Rgb, b: Rgb, share: number): Rgb => a.map((c, i) => c * share + b[i]! * (1 - share)) as Rgb;
const luminance = (rgb: Rgb) =>
  rgb.map((c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)).reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i]!, 0);
const contrast = (a: Rgb, b: Rgb) => {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
};
const WHITE: Rgb = [255, 255, 255];

describe.each([
  ['light', light],
  ['dark', dark],
] as const)('colour contrast in the %s theme', (_theme, t) => {
  const surfaces = { panel: hex(t.panel!), 'panel-2': hex(t['panel-2']!), bg: hex(t.bg!), 'bubble-in': hex(t['bubble-in']!) };

  it('secondary and tertiary text read on every surface', () => {
    for (const token of ['text', 'text-2', 'text-3', 'accent-text']) {
      for (const [name, surface] of Object.entries(surfaces)) expect(contrast(hex(t[token]!), surface), `${token} on ${name}`).toBeGreaterThanOrEqual(TEXT);
    }
  });

  it('white text, and the 90 % white of times, read on both ends of the accent gradient', () => {
    const stops = [...t['accent-grad']!.matchAll(/#[0-9a-f]{6}/gi)].map((m) => hex(m[0]));
    expect(stops).toHaveLength(2);
    for (const stop of stops) {
      expect(contrast(WHITE, stop)).toBeGreaterThanOrEqual(TEXT);
      expect(contrast(mix(WHITE, stop, 0.9), stop)).toBeGreaterThanOrEqual(TEXT);
    }
  });

  it('error and success text read on panels, the page and the error tint; white reads on badges', () => {
    for (const [name, surface] of Object.entries(surfaces)) {
      expect(contrast(hex(t['danger-text']!), surface), `danger-text on ${name}`).toBeGreaterThanOrEqual(TEXT);
      expect(contrast(hex(t['success-text']!), surface), `success-text on ${name}`).toBeGreaterThanOrEqual(TEXT);
    }
    expect(contrast(hex(t['danger-text']!), over(t['danger-soft']!, surfaces.bg))).toBeGreaterThanOrEqual(TEXT);
    expect(contrast(WHITE, hex(t.badge!))).toBeGreaterThanOrEqual(TEXT);
    expect(contrast(hex(t['warn-text']!), hex(t['warn-bg']!))).toBeGreaterThanOrEqual(TEXT);
  });

  it('focus rings and the online dot stand out from what is around them', () => {
    for (const [name, surface] of Object.entries(surfaces)) expect(contrast(hex(t.accent!), surface), `accent ring on ${name}`).toBeGreaterThanOrEqual(GRAPHIC);
    expect(contrast(hex(t.success!), surfaces.panel)).toBeGreaterThanOrEqual(GRAPHIC);
  });

  it('every sender colour, pulled 30 % towards the text colour (as messages.css does), reads on a bubble', () => {
    for (const colour of PALETTE) expect(contrast(mix(hex(colour), hex(t.text!), 0.7), surfaces['bubble-in']), colour).toBeGreaterThanOrEqual(TEXT);
  });
});
