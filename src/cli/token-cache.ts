import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { UserRef } from '../protocol/index.ts';

export interface CachedSession {
  server: string;
  user: UserRef;
  token: string;
  /** Marks this computer as a known device of the account (docs/SECURITY.md, "Failed logins"). */
  deviceToken?: string;
  savedAt: string;
}

interface CacheFile {
  version: 1;
  sessions: Record<string, CachedSession>;
}

/** `$XDG_CONFIG_HOME/parley/sessions.json`, else `~/.config/parley/sessions.json`. */
export function sessionCachePath(env: NodeJS.ProcessEnv = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const configHome = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(configHome, 'parley', 'sessions.json');
}

/** Names are unique case-insensitively on the server, so "Alice" and "alice" share one entry. */
function keyOf(server: string, name: string): string {
  return `${server} ${name.normalize('NFC').toLowerCase()}`;
}

/**
 * Session tokens, one per server and user. A token is as good as a password until it is
 * revoked, so the file is readable by its owner only (0600, in a 0700 folder), like the
 * credential stores of git, gh or docker.
 */
export class TokenCache {
  constructor(readonly path: string) {}

  async get(server: string, name: string): Promise<CachedSession | undefined> {
    return (await this.read()).sessions[keyOf(server, name)];
  }

  async put(server: string, name: string, user: UserRef, token: string, deviceToken: string | null = null): Promise<void> {
    const file = await this.read();
    file.sessions[keyOf(server, name)] = { server, user, token, ...(deviceToken ? { deviceToken } : {}), savedAt: new Date().toISOString() };
    await this.write(file);
  }

  /** Returns whether there was an entry to remove. */
  async delete(server: string, name: string): Promise<boolean> {
    const file = await this.read();
    const key = keyOf(server, name);
    if (!(key in file.sessions)) return false;
    delete file.sessions[key];
    await this.write(file);
    return true;
  }

  private async read(): Promise<CacheFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sessions: {} };
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as Partial<CacheFile>;
      if (parsed.version === 1 && parsed.sessions && typeof parsed.sessions === 'object') return parsed as CacheFile;
    } catch {
      // A damaged cache only costs a fresh login; it is rewritten whole on the next save.
    }
    return { version: 1, sessions: {} };
  }

  private async write(file: CacheFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write aside and rename: a crash or a concurrent reader never sees half a file, and the
    // new file is created 0600 even if an older one had looser permissions.
    const temp = `${this.path}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, this.path);
  }
}
