import module from 'node:module';

// Node 22.1 and later keep V8's compiled code between starts (in the temporary folder), so a
// restart parses less; Node 20 has no such cache and starts as before. Enabled before the rest
// of the program is imported, hence the dynamic import below.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const { main } = await import('./main.ts');
await main(process.argv.slice(2));
