import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** axe-core's own bundle, evaluated in the page (through the DevTools protocol, so the app's CSP does not block it). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The rules of WCAG 2.1, levels A and AA: what the accessibility issue holds the client to. */
export const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

export interface AxeFinding {
  rule: string;
  impact: string;
  help: string;
  /** A CSS selector and the failure summary of each offending node. */
  nodes: string[];
}

/**
 * Runs axe-core on what the page shows now. Animations are finished first (reduced motion), so
 * a colour is judged as it rests, not halfway through a fade.
 */
export async function axeAudit(page: Page): Promise<AxeFinding[]> {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const injected = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!injected) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations as {
      id: string;
      impact: string;
      help: string;
      nodes: { target: string[]; failureSummary?: string }[];
    }[];
  }, [...WCAG_21_AA]);
  return violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((node) => `${node.target.join(' ')} — ${(node.failureSummary ?? '').replace(/\s+/g, ' ').trim()}`),
  }));
}

/** Only what the issue forbids outright: serious and critical findings. */
export function seriousOrCritical(findings: readonly AxeFinding[]): AxeFinding[] {
  return findings.filter((finding) => finding.impact === 'serious' || finding.impact === 'critical');
}

/** One readable line per rule, with its nodes below: what a failing test prints. */
export function describeFindings(findings: readonly AxeFinding[]): string {
  return findings.map((f) => `${f.rule} (${f.impact}, ${f.nodes.length} nodes): ${f.help}\n    ${f.nodes.join('\n    ')}`).join('\n');
}
