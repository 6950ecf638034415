/** What a person starting `parley serve` in a terminal needs to see at once, without log noise around it. */
export function startupBanner(facts: { version: string; url: string; dataDir: string; fingerprint: string | null; webClient: boolean }): string {
  const rows: [string, string][] = [
    ['Open', facts.webClient ? facts.url : `${facts.url}  (API only: the web client is not built)`],
    ['Data', facts.dataDir],
  ];
  if (facts.fingerprint) rows.push(['TLS SHA-256', `${facts.fingerprint}\n${' '.repeat(15)}(people compare it with what their browser shows, once)`]);
  rows.push(['Stop', 'Ctrl-C']);
  return `\n  Parley ${facts.version} is running\n${rows.map(([label, value]) => `  ${label.padEnd(12)} ${value}`).join('\n')}\n\n`;
}
