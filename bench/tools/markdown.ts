/**
 * Prints the tables and target checks of a results JSON (from `npm run bench -- --json`) as
 * Markdown, the form docs/PERFORMANCE.md quotes them in. Usage:
 *   npx tsx bench/tools/markdown.ts bench/results/<file>.json
 */
import { readFileSync } from 'node:fs';
import { markdownTable, type ScenarioReport } from '../lib/report.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: markdown.ts <results.json>');
const results = JSON.parse(readFileSync(file, 'utf8')) as {
  date: string;
  mode: string;
  commit: string;
  machine: Record<string, unknown>;
  pinning: string;
  rounds: number;
  seconds: number;
  scenarios: Record<string, ScenarioReport>;
};

console.log(`Run: ${results.mode}, ${results.date}, commit ${results.commit}, ${results.rounds} rounds, ${Math.round(results.seconds)} s.`);
console.log(`Pinning: ${results.pinning}.\n`);
for (const report of Object.values(results.scenarios)) {
  console.log(`### ${report.scenario}\n`);
  console.log(`${report.title}${report.status === 'done' ? '' : ` (${report.status})`}.\n`);
  for (const table of report.tables) console.log(`${table.title}:\n\n${markdownTable(table)}\n`);
  for (const note of report.notes) console.log(`- ${note}`);
  if (report.notes.length) console.log('');
}
console.log('### Targets\n');
console.log(
  markdownTable({
    title: '',
    columns: ['scenario', 'target', 'measured', 'met', 'gap'],
    rows: Object.values(results.scenarios).flatMap((r) => r.targets.map((t) => [t.target, t.goal, t.value, t.met ? 'yes' : 'no', t.gap || '—'])),
  }),
);
