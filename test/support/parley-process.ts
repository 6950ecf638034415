import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnTied } from './tied.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'parley.js');

export interface ParleyProcess {
  child: ChildProcess;
  url: string;
  port: number;
  exited: Promise<number | null>;
}

/** Runs `parley serve` as its own process (as an operator would) and waits for the line that says where it listens. It is killed when this process ends. */
export async function serveProcess(args: string[]): Promise<ParleyProcess> {
  // Tied to this process: a crashed or killed test worker does not leave it serving (tied.ts).
  const child = spawnTied(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: unknown };
        if (typeof entry.url === 'string') resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`parley exited with ${code}: ${stderr}`)));
  });
  return { child, url, port: Number(new URL(url).port), exited };
}
