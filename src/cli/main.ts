import { serve } from '../server/main.ts';

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  console.error('usage: parley serve [options]');
  process.exitCode = 2;
}
