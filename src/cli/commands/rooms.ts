import { RoomApi } from '../../client/index.ts';
import type { RoomInfo, RoomRole } from '../../protocol/index.ts';
import { clientCommand } from '../command.ts';
import { note, printJson, printLine, sanitize } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const rooms = clientCommand({
  name: 'rooms',
  summary: 'list your rooms, or the public ones',
  usage: 'parley rooms [--public [--search <prefix>]] [--json] [options]',
  description: [
    'Print your rooms, one per line: name, id, visibility, members, your role and unread count.',
    'With --public, the directory of public rooms instead (those you joined are marked), by name;',
    '--search narrows it to names that start with a prefix.',
  ].join('\n'),
  options: {
    public: { type: 'boolean', description: 'the directory of public rooms, not yours' },
    search: { type: 'string', value: '<prefix>', description: 'with --public: only rooms whose name starts with this' },
    json: { type: 'boolean', description: 'one JSON object per room and line' },
  },
  examples: ['parley rooms --user alice', 'parley rooms --user alice --public', "parley rooms --user alice --public --search garden --json | jq -r '.id'"],
  async run(context) {
    const { api } = await signIn(context);
    const json = Boolean(context.values.json);
    if (context.values.public) {
      const q = typeof context.values.search === 'string' ? context.values.search : '';
      const listed = [];
      for (let after: string | undefined; ; ) {
        const page = await new RoomApi(api).directory({ q, limit: 100, ...(after ? { after } : {}) });
        listed.push(...page.rooms);
        if (!page.next) break;
        after = page.next;
      }
      for (const room of listed) {
        if (json) printJson(room);
        else printLine(`${describe(room)}${room.joined ? '  (joined)' : ''}`);
      }
      if (!json && listed.length === 0) note(q ? `No public room's name starts with "${q}".` : 'No public rooms yet.');
      return;
    }
    const mine = (await api.conversations()).conversations.filter((c) => c.kind === 'room' && c.room);
    for (const summary of mine) {
      const room = summary.room!;
      if (json) printJson({ ...room, role: summary.role, unread: summary.unread, lastSeq: summary.lastSeq });
      else printLine(`${describe(room)}  ${roleLabel(summary.role!)}${summary.unread > 0 ? `  ${summary.unread} unread` : ''}`);
    }
    if (!json && mine.length === 0) note("You are in no room yet: 'parley room create <name>', or join one from 'parley rooms --public'.");
  },
});

function describe(room: RoomInfo): string {
  const topic = room.topic ? `  — ${sanitize(room.topic)}` : '';
  return `#${sanitize(room.name)}  ${room.id}  ${room.visibility}  ${room.memberCount} member${room.memberCount === 1 ? '' : 's'}${topic}`;
}

function roleLabel(role: RoomRole): string {
  return role === 'member' ? 'member' : role;
}
