import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { bundleBudget, serviceWorker } from './src/web/build/plugins.ts';

const root = fileURLToPath(new URL('./src/web', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/web', import.meta.url));
/** The Parley that `npm run dev` talks to (start it with `npm start`). */
const target = process.env.PARLEY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root,
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    reportCompressedSize: false,
    rolldownOptions: {
      // The protocol modules only declare schemas and constants; a module the client does not
      // use (the zod schemas the server validates with) is left out of the bundle entirely.
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]src[\\/]protocol[\\/]/.test(id) },
    },
  },
  plugins: [serviceWorker(), bundleBudget()],
  server: {
    port: 5173,
    strictPort: false,
    proxy: {
      // The Host header is kept (no changeOrigin), so the server's same-origin WebSocket check
      // sees the page's own origin, as in production.
      '/api': { target },
      '/ws': { target, ws: true },
    },
  },
});
