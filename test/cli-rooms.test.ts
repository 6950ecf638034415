import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { RoomApi } from '../src/client/rooms.ts';
import { TokenCache } from '../src/cli/token-cache.ts';
import { PASSWORD, connect } from './support/clients.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'parley.js');

let server: TestServer;
let home: string;
const apis = new Map<string, ParleyApi>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `parley` as a child process, as `user`. */
function parley(user: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CONFIG_HOME: home, PARLEY_SERVER: server.url, PARLEY_PASSWORD: PASSWORD, PARLEY_USER: user };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

async function succeeds(user: string, args: string[]): Promise<string> {
  const run = await parley(user, args);
  expect(run.code, `parley ${args.join(' ')}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  server = await startTestServer();
  home = await mkdtemp(join(tmpdir(), 'parley-cli-rooms-'));
  const cache = new TokenCache(join(home, 'parley', 'sessions.json'));
  // Sessions saved as `parley register` would, without paying for a CLI process each.
  for (const name of ['alice', 'bob', 'carol', 'dave']) {
    const api = new ParleyApi(server.url);
    const { user, token } = await api.register({ name, password: PASSWORD });
    await cache.put(server.url, name, user, token);
    apis.set(name, api);
  }
});
afterAll(async () => {
  await server.close();
  await rm(home, { recursive: true, force: true });
});

describe('parley room and rooms', () => {
  it('creates a private room with invitations, sends to it by #name, and reads its history', async () => {
    expect(await succeeds('alice', ['room', 'create', 'Book', 'club', '--topic', 'Chapter 3', '--invite', 'bob,carol'])).toMatch(
      /^Created #Book club \(room:[A-Za-z0-9]{12}, private, 3 members\)\.\n$/,
    );
    expect(await succeeds('bob', ['send', '--to', '#book club', 'see', 'you', 'Friday'])).toMatch(/^Sent to #Book club \(conv room:[A-Za-z0-9]{12}, seq 4\)\.\n$/);
    const history = jsonLines(await succeeds('carol', ['history', '--with', '#Book club', '--json']));
    expect(history.map((m) => m.text)).toEqual(['alice created the room Book club', 'alice invited bob', 'alice invited carol', 'see you Friday']);
    const mine = await succeeds('carol', ['rooms']);
    expect(mine).toMatch(/^#Book club {2}room:\S+ {2}private {2}3 members {2}— Chapter 3 {2}member {2}1 unread\n$/);
    // dave is not in it: no such room among his, and the room's history is not found by id either.
    const notHis = await parley('dave', ['send', '--to', '#book club', 'hi']);
    expect([notHis.code, notHis.stderr]).toEqual([1, `parley: No room called "book club" among yours; see 'parley rooms'.\n`]);
    const id = (jsonLines(await succeeds('alice', ['rooms', '--json'])).find((room) => room.name === 'Book club') as { id: string }).id;
    const byId = await parley('dave', ['history', '--with', `#${id}`]);
    expect(byId.code).toBe(1);
    expect(byId.stderr).toMatch(/^parley: NOT_FOUND: /);
  });

  it('lists the public directory, joins from it by name, then leaves', async () => {
    await succeeds('alice', ['room', 'create', '--public', 'Gardening', '--topic', 'tomatoes']);
    const listed = jsonLines(await succeeds('dave', ['rooms', '--public', '--search', 'gard', '--json']));
    expect(listed).toEqual([expect.objectContaining({ name: 'Gardening', topic: 'tomatoes', visibility: 'public', joined: false, memberCount: 1 })]);
    expect(await succeeds('dave', ['room', 'join', '#gardening'])).toBe('Joined #Gardening (2 members).\n');
    expect(await succeeds('dave', ['rooms', '--public', '--search', 'gard'])).toMatch(/\(joined\)\n$/);
    expect(await succeeds('dave', ['room', 'leave', '#Gardening'])).toBe('Left #Gardening.\n');
    expect((await apis.get('alice')!.history((listed[0] as { id: string }).id)).messages.map((m) => m.text).slice(-2)).toEqual(['dave joined', 'dave left']);
    // A private room of this test's own (it exists: alice lists it), which dave cannot find to join.
    await succeeds('alice', ['room', 'create', 'Potting', 'shed']);
    expect(jsonLines(await succeeds('alice', ['rooms', '--json'])).map((room) => room.name)).toContain('Potting shed');
    const privateOne = await parley('dave', ['room', 'join', '#potting shed']);
    expect([privateOne.code, privateOne.stderr]).toEqual([1, `parley: No room called "potting shed"; see 'parley rooms' and parley rooms --public.\n`]);
  });

  it('invites, removes, renames and sets the topic, with the server’s refusals as errors', async () => {
    await succeeds('alice', ['room', 'create', 'Staff']);
    expect(await succeeds('alice', ['room', 'invite', '#staff', 'bob', 'dave'])).toBe('Added bob, dave to #Staff.\n');
    expect(await succeeds('bob', ['room', 'invite', '#staff', 'dave'])).toBe('Everyone named is a member already.\n');
    const refused = await parley('bob', ['room', 'rename', '#staff', 'Bob’s', 'room']);
    expect([refused.code, refused.stderr]).toEqual([1, "parley: ROOM_ADMIN_REQUIRED: Only the room's owner and admins can do this.\n"]);
    expect(await succeeds('alice', ['room', 'rename', '#staff', 'Staff', 'room'])).toBe('Renamed #Staff to #Staff room.\n');
    expect(await succeeds('alice', ['room', 'topic', '#staff room', 'rota', 'on', 'Monday'])).toBe('The topic of #Staff room is now: rota on Monday\n');
    expect(await succeeds('alice', ['room', 'topic', '#staff room'])).toBe('Cleared the topic of #Staff room.\n');
    expect(await succeeds('alice', ['room', 'remove', '#staff room', 'dave'])).toBe('Removed dave from #Staff room.\n');
    const members = (await new RoomApi(apis.get('alice')!).members((jsonLines(await succeeds('alice', ['rooms', '--json'])).find((r) => r.name === 'Staff room') as { id: string }).id)).members;
    expect(members.map((m) => m.user.name)).toEqual(['alice', 'bob']);
  });

  it('says which rooms share a name, and answers usage mistakes with exit 2', async () => {
    // bob's, not carol's: the first test lists carol's rooms, whichever tests ran before it.
    await succeeds('bob', ['room', 'create', 'twin']);
    await succeeds('bob', ['room', 'create', 'Twin']);
    const ambiguous = await parley('bob', ['send', '--to', '#twin', 'hello']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/^parley: Several rooms are called "twin": #room:\S+, #room:\S+; name one by its id\.\n$/);
    const noAction = await parley('carol', ['room', 'explode']);
    expect([noAction.code, noAction.stderr.split('\n')[0]]).toEqual([2, "parley: unknown room action 'explode'; actions: create, join, leave, invite, remove, rename, topic"]);
    const noName = await parley('carol', ['room', 'create']);
    expect([noName.code, noName.stderr]).toEqual([2, "parley: say the name of the room\nRun 'parley room create --help' for usage.\n"]);
    expect((await parley('carol', ['room', 'create', '--help'])).stdout).toMatch(/^Usage: parley room create <name\.\.\.>/);
    const tooLong = await parley('carol', ['room', 'create', 'x'.repeat(65)]);
    expect([tooLong.code, tooLong.stderr]).toEqual([1, 'parley: ROOM_NAME_INVALID: A room name is 1-64 characters, without control characters.\n']);
  });
});

describe('parley people', () => {
  it('finds people by the start of their name, ignoring case, and says who is online', async () => {
    expect(await succeeds('alice', ['people', 'CA'])).toBe('carol\n');
    const bob = await connect(apis.get('bob')!);
    expect(await succeeds('alice', ['people', 'b'])).toBe('bob  (online)\n');
    bob.close();
    expect(jsonLines(await succeeds('alice', ['people', '--json'])).map((p) => p.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(await succeeds('alice', ['people', '--limit', '2'])).toBe('alice\nbob\n');
    const none = await parley('alice', ['people', 'zz']);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', `No one's name starts with "zz".\n`]);
    expect((await parley('alice', ['people', '--limit', '0'])).code).toBe(2);
  });
});
