import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { WEB_ROOT, ensureBuiltClient } from './support/build.ts';

describe('the server serves the built web client', () => {
  let server: TestServer;
  let bare: TestServer;

  beforeAll(async () => {
    await ensureBuiltClient();
    server = await startTestServer({ webRoot: WEB_ROOT });
    bare = await startTestServer();
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await bare?.close();
  });

  it('serves the app at / with a strict Content-Security-Policy and no inline script', async () => {
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    const html = await response.text();
    // Every <script> loads a file; none carries code of its own.
    const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [tag, body] of scripts) {
      expect(tag).toMatch(/src="\/assets\/[^"]+\.js"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('serves hashed assets as immutable and gzipped, with ETags', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const response = await fetch(`${server.url}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    const etag = response.headers.get('etag')!;
    const again = await fetch(`${server.url}${script}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('serves the PWA manifest, icons and the service worker', async () => {
    const manifest = await fetch(`${server.url}/manifest.webmanifest`);
    expect(manifest.headers.get('content-type')).toContain('application/manifest+json');
    const body = (await manifest.json()) as { icons: { src: string }[]; start_url: string; display: string };
    expect(body.display).toBe('standalone');
    for (const icon of body.icons) expect((await fetch(`${server.url}${icon.src}`)).status).toBe(200);
    const sw = await fetch(`${server.url}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    expect(sw.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    // What it caches (the app shell, never the API) is checked in Chromium: e2e/chat.test.ts.
  });

  it('answers page addresses with the app, but missing files, the API and escapes with 404', async () => {
    const page = await fetch(`${server.url}/some/deep/link`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    expect((await fetch(`${server.url}/assets/nope.js`)).status).toBe(404);
    const api = await fetch(`${server.url}/api/nope`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${server.url}/api/me`)).status).toBe(401);
    for (const path of ['/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/package.json', '/assets/..%5c..%5cpackage.json', '/%00']) {
      const response = await fetch(`${server.url}${path}`);
      expect([400, 404], path).toContain(response.status);
    }
  });

  it('sends the security headers with every answer: the page, assets, the service worker, a 404', async () => {
    const html = await (await fetch(`${server.url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    for (const path of ['/', script, '/sw.js', '/manifest.webmanifest', '/assets/nope.js']) {
      const response = await fetch(`${server.url}${path}`);
      const headers = Object.fromEntries(['x-content-type-options', 'referrer-policy', 'x-frame-options', 'cross-origin-resource-policy'].map((name) => [name, response.headers.get(name)]));
      expect([path, headers]).toEqual([path, { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY', 'cross-origin-resource-policy': 'same-origin' }]);
    }
  });

  it('says at / that the web client is not built, and how to build it, when there is none to serve', async () => {
    const page = await fetch(`${bare.url}/`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(503);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const text = await page.text();
    expect(text).toContain('web client is not built');
    expect(text).toContain('npm run build');
    // Other page addresses are not the app either: a plain 404.
    expect((await fetch(`${bare.url}/c/world`, { headers: { accept: 'text/html' } })).status).toBe(404);
  });
});
