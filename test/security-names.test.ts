import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { hashPassword } from '../src/server/accounts/passwords.ts';
import { MIGRATIONS } from '../src/server/storage/sqlite/migrations.ts';
import { codeOf, PASSWORD } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const register = (name: string) => codeOf(new ParleyApi(server!.url).register({ name, password: PASSWORD }));

describe('look-alike names', () => {
  it('refuses invisible characters and variation selectors inside a name, and full-width or other-case twins', async () => {
    server = await startTestServer();
    expect(await register('alice')).toBe('OK');
    const twins: [string, string][] = [
      ['ali\u034Fce', 'NAME_INVALID'], // combining grapheme joiner
      ['alice\uFE0F', 'NAME_INVALID'], // variation selector 16
      ['ali\uFE00ce', 'NAME_INVALID'], // variation selector 1
      ['ali\u180Bce', 'NAME_INVALID'], // Mongolian free variation selector
      ['alice\u{E0100}', 'NAME_INVALID'], // variation selector 17
      ['ali\u200Dce', 'NAME_INVALID'], // zero-width joiner
      ['ali\u00ADce', 'NAME_INVALID'], // soft hyphen
      ['\uFF41\uFF4C\uFF49\uFF43\uFF45', 'NAME_TAKEN'], // full-width ａｌｉｃｅ
      ['ALICE', 'NAME_TAKEN'],
      ['\uFF21\uFF2C\uFF29\uFF23\uFF25', 'NAME_TAKEN'], // full-width ＡＬＩＣＥ
    ];
    for (const [name, code] of twins) expect([name, await register(name)]).toEqual([name, code]);
  });

  it('refuses a name mixing scripts, and one that looks like an existing name in another script', async () => {
    server = await startTestServer();
    for (const name of ['alice', 'aoe', 'mary', 'paypal', 'Ivy', 'BILL']) expect(await register(name)).toBe('OK');
    const lookAlikes: [string, string][] = [
      ['\u0430lice', 'NAME_INVALID'], // Cyrillic а + Latin
      ['p\u0430yp\u0430l', 'NAME_INVALID'], // Cyrillic а inside Latin
      ['Ivan_\u0418\u0432\u0430\u043D', 'NAME_INVALID'], // Latin + Cyrillic
      ['\u0391lpha', 'NAME_INVALID'], // Greek Α + Latin
      ['\u0430\u043E\u0435', 'NAME_TAKEN'], // аое, all Cyrillic, looks like aoe
      ['a1ice', 'NAME_TAKEN'], // 1 for l
      ['rnary', 'NAME_TAKEN'], // rn for m
      ['lvy', 'NAME_TAKEN'], // l for I
      ['BIlL', 'NAME_TAKEN'], // I for l, upper case
      ['\u13AA\u13DE\u13C6\u13DF\u13AC', 'NAME_INVALID'], // Cherokee ᎪᏞᏆᏟᎬ, not a script in common use
      ['x\u0300\u0301\u0302\u0303\u0304', 'NAME_INVALID'], // five combining marks in a row
      ['a\u0301\u0301', 'NAME_INVALID'], // one mark twice
      ['\u0301accent', 'NAME_INVALID'], // starts with a mark
    ];
    for (const [name, code] of lookAlikes) expect([name, await register(name)]).toEqual([name, code]);
  });

  it('reserves world, admin, system and the like (and their look-alikes), and names starting with "."', async () => {
    server = await startTestServer();
    for (const name of ['world', 'World', 'admin', 'ADMIN', '\uFF41\uFF44\uFF4D\uFF49\uFF4E', 'system', 'root', 'parley', 'wor1d', 'adrnin', 'ADMlN', 'Wor1d', 'administrator', 'moderator', 'support', 'everyone']) {
      expect([name, await register(name)]).toEqual([name, 'NAME_TAKEN']);
    }
    for (const name of ['.hidden', '.', '..', '.alice']) expect([name, await register(name)]).toEqual([name, 'NAME_INVALID']);
    for (const name of ['worldwide', 'admin_bob', 'a.b', 'sys-tem2']) expect([name, await register(name)]).toEqual([name, 'OK']);
  });

  it('keeps real names in Chinese, Japanese, Korean, Cyrillic, Greek, Arabic, Hebrew, Hindi, Thai and Latin with accents working', async () => {
    server = await startTestServer();
    const names = ['小明', '王小明abc', '田中はなこ', 'たなか_タロウ', '김민준', 'Иван', 'Ελένη', 'محمد', 'عبد_الله', 'ירון', 'राज', 'สมชาย', 'José', 'Zoë', 'Straße', 'Nguyễn', 'Łukasz', 'Ørsted'];
    for (const name of names) expect([name, await register(name)]).toEqual([name, 'OK']);
    for (const name of names) {
      const { user } = await new ParleyApi(server.url).login({ name, password: PASSWORD });
      expect(user.name).toBe(name);
    }
    // Case and width fold at login and lookup as at registration: STRASSE is Straße, ИВАН is Иван.
    expect((await new ParleyApi(server.url).login({ name: 'STRASSE', password: PASSWORD })).user.name).toBe('Straße');
    const { token } = await new ParleyApi(server.url).login({ name: 'ИВАН', password: PASSWORD });
    expect((await new ParleyApi(server.url, { token }).user('ＺＯË')).name).toBe('Zoë');
  });

  it('stores a name NFKC-normalised: full-width letters become ordinary ones', async () => {
    server = await startTestServer();
    const { user } = await new ParleyApi(server.url).register({ name: '\uFF42\uFF4F\uFF42', password: PASSWORD });
    expect(user.name).toBe('bob');
  });
});

describe('accounts made under the earlier name rules', () => {
  it('keep logging in after the upgrade; of two that now share a key, the older keeps it and the younger logs in by its exact name', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'parley-names-'));
    try {
      // A database as the previous release left it (schema version 2, keys lower-cased NFC).
      const db = new Database(join(dataDir, 'parley.sqlite'));
      for (const migration of MIGRATIONS.slice(0, 2)) db.exec(typeof migration === 'string' ? migration : (migration as { sql: string }).sql);
      db.pragma('user_version = 2');
      const hash = await hashPassword(PASSWORD);
      const legacy = ['\uFF41\uFF4C\uFF49\uFF43\uFF45', 'alice', 'Straße', 'ali\u034Fce', '小明'];
      for (const [i, name] of legacy.entries()) {
        db.prepare('INSERT INTO users (name, name_key, password_hash, created_at) VALUES (?, ?, ?, ?)').run(name, name.toLowerCase(), hash, i + 1);
        db.prepare("INSERT INTO memberships (user_id, conv_id, read_seq) VALUES (?, 'world', 0)").run(i + 1);
      }
      db.close();

      server = await startTestServer({ dataDir, restartable: true });
      const login = async (name: string) => (await new ParleyApi(server!.url).login({ name, password: PASSWORD })).user;
      for (const [i, name] of legacy.entries()) expect(await login(name)).toEqual({ id: i + 1, name });
      expect(await login('ALICE')).toEqual({ id: 1, name: '\uFF41\uFF4C\uFF49\uFF43\uFF45' }); // the older account holds the key
      expect(await login('STRASSE')).toEqual({ id: 3, name: 'Straße' }); // the new key folds ß
      expect(await register('alice')).toBe('NAME_TAKEN');
      expect(await register('a1ice')).toBe('NAME_TAKEN');

      const keys = new Database(join(dataDir, 'parley.sqlite'), { readonly: true });
      const rows = keys.prepare('SELECT id, name_key FROM users ORDER BY id').all();
      keys.close();
      expect(rows).toEqual([
        { id: 1, name_key: 'alice' },
        { id: 2, name_key: 'legacy:2' },
        { id: 3, name_key: 'strasse' },
        { id: 4, name_key: 'legacy:4' },
        { id: 5, name_key: '小明' },
      ]);
      // A restart changes nothing more.
      await server.restart();
      expect(await login('alice')).toEqual({ id: 2, name: 'alice' });
    } finally {
      await server?.close();
      server = undefined;
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
