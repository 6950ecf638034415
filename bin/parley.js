#!/usr/bin/env node
// The `parley` command. An installed package runs the compiled JavaScript in dist/ (npm run build).
// A checkout of the repository runs its TypeScript sources through tsx, so what runs is always
// what is written, with no build step between an edit and a test.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/run.ts', import.meta.url);

if (existsSync(sources) && (await tsxLoaded())) await import(sources.href);
else await import('../dist/cli/run.js');

async function tsxLoaded() {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch {
    // tsx is a development dependency: a checkout installed with --omit=dev runs the build.
    return false;
  }
}
