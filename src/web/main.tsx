import { render } from 'preact';
import { App } from './app.tsx';
import { installFocusRescue } from './lib/focus-rescue.ts';
import { boot } from './state/auth.ts';
import './styles/base.css';
import './styles/auth.css';
import './styles/shell.css';
import './styles/messages.css';
import './styles/files.css';
import './styles/rooms.css';

installFocusRescue();
render(<App />, document.getElementById('app')!);
void boot();

// The service worker caches the app shell only (never API responses or messages). Not in
// development, where Vite serves modules that change on every edit.
if (import.meta.env.PROD && 'serviceWorker' in navigator && isSecureContext) {
  addEventListener('load', () => void navigator.serviceWorker.register('/sw.js').catch(() => {}));
}
