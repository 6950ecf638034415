#!/usr/bin/env node
// Parley runs its TypeScript sources directly through tsx's loader: no build step between a
// clone and a running server.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
