import { RoomApi, type ParleyApi } from '../../client/index.ts';
import type { RoomInfo, UserRef } from '../../protocol/index.ts';
import { clientCommand, type ClientCommandSpec, type Command, type Context } from '../command.ts';
import { UsageError } from '../errors.ts';
import { printJson, printLine, sanitize } from '../output.ts';
import { findRoom } from '../room-lookup.ts';
import { signIn } from '../sign-in.ts';

type Action = (rooms: RoomApi, context: Context & { api: ParleyApi }) => Promise<void>;

/** `parley room <action> ...`: one sub-command per room action, each with its own help. */
function action(name: string, summary: string, usage: string, description: string, examples: string[], run: Action, options: ClientCommandSpec['options'] = {}): Command {
  return clientCommand({
    name: `room ${name}`,
    summary,
    usage,
    description,
    options: { json: { type: 'boolean', description: 'print the result as one JSON line' }, ...options },
    takesArguments: true,
    examples,
    async run(context) {
      const { api } = await signIn(context);
      await run(new RoomApi(api), { ...context, api });
    },
  });
}

function args(context: Context, count: number, what: string): string[] {
  if (context.positionals.length < count) throw new UsageError(`say ${what}`, context.command);
  return context.positionals;
}

/** People named on the command line, as users (by exact name, ignoring case). */
async function users(api: ParleyApi, names: string[]): Promise<UserRef[]> {
  return Promise.all(names.map((name) => api.user(name.startsWith('@') ? name.slice(1) : name)));
}

function report(context: Context, room: RoomInfo, sentence: string): void {
  if (context.values.json) printJson(room);
  else printLine(sentence);
}

const ACTIONS: Command[] = [
  action(
    'create',
    'create a room',
    'parley room create <name...> [--topic <text>] [--public] [--invite <user,...>] [options]',
    'Create a room (private unless --public) with you as its owner, and invite people at once.',
    ['parley room create --user alice Book club --topic "Chapter 3" --invite bob,carol', 'parley room create --user alice --public Gardening'],
    async (rooms, context) => {
      const name = args(context, 1, 'the name of the room').join(' ');
      const invite = typeof context.values.invite === 'string' ? context.values.invite.split(',').map((n) => n.trim()).filter(Boolean) : [];
      const invited = await users(context.api, invite);
      const created = await rooms.create({
        name,
        visibility: context.values.public ? 'public' : 'private',
        ...(typeof context.values.topic === 'string' ? { topic: context.values.topic } : {}),
        invite: invited.map((user) => user.id),
      });
      const room = created.room!;
      report(context, room, `Created #${sanitize(room.name)} (${room.id}, ${room.visibility}, ${room.memberCount} member${room.memberCount === 1 ? '' : 's'}).`);
    },
    {
      topic: { type: 'string', value: '<text>', description: 'the topic (one line, at most 250 characters)' },
      public: { type: 'boolean', description: 'list it in the directory: anyone may join and read it' },
      invite: { type: 'string', value: '<user,...>', description: 'people to add as members, by name, comma-separated' },
    },
  ),
  action('join', 'join a public room', "parley room join '#<room>' [options]", 'Join a public room by its name or id (see `parley rooms --public`).', ["parley room join --user carol '#gardening'"], async (rooms, context) => {
    const room = await findRoom(context.api, args(context, 1, 'which room').join(' '), { directory: true });
    const joined = (await rooms.join(room.id)).room!;
    report(context, joined, `Joined #${sanitize(joined.name)} (${joined.memberCount} members).`);
  }),
  action('leave', 'leave a room', "parley room leave '#<room>' [options]", 'Leave one of your rooms. An owner who leaves hands the room to the longest-standing admin, else member.', ["parley room leave --user carol '#gardening'"], async (rooms, context) => {
    const room = await findRoom(context.api, args(context, 1, 'which room').join(' '));
    await rooms.leave(room.id);
    report(context, room, `Left #${sanitize(room.name)}.`);
  }),
  action('invite', 'add people to a room', "parley room invite '#<room>' <user...> [options]", 'Add people to one of your rooms as members (any member may).', ["parley room invite --user alice '#book club' dave erin"], async (rooms, context) => {
    const [spec, ...names] = args(context, 2, "the room and who to invite: parley room invite '#<room>' <user...>");
    const room = await findRoom(context.api, spec!);
    const { added } = await rooms.invite(room.id, (await users(context.api, names)).map((user) => user.id));
    if (context.values.json) printJson({ room: room.id, added });
    else printLine(added.length > 0 ? `Added ${added.map((user) => sanitize(user.name)).join(', ')} to #${sanitize(room.name)}.` : 'Everyone named is a member already.');
  }),
  action('remove', 'remove someone from a room', "parley room remove '#<room>' <user> [options]", "Remove a member (the room's owner and admins; an admin removes plain members only).", ["parley room remove --user alice '#book club' dave"], async (rooms, context) => {
    const [spec, name] = args(context, 2, "the room and who to remove: parley room remove '#<room>' <user>");
    const room = await findRoom(context.api, spec!);
    const [user] = await users(context.api, [name!]);
    await rooms.remove(room.id, user!.id);
    report(context, room, `Removed ${sanitize(user!.name)} from #${sanitize(room.name)}.`);
  }),
  action('rename', 'rename a room', "parley room rename '#<room>' <new name...> [options]", "Give a room a new name (the room's owner and admins).", ["parley room rename --user alice '#book club' Readers"], async (rooms, context) => {
    const [spec, ...words] = args(context, 2, "the room and its new name: parley room rename '#<room>' <new name...>");
    const room = await findRoom(context.api, spec!);
    const renamed = await rooms.update(room.id, { name: words.join(' ') });
    report(context, renamed, `Renamed #${sanitize(room.name)} to #${sanitize(renamed.name)}.`);
  }),
  action('topic', "set a room's topic", "parley room topic '#<room>' [<topic...>] [options]", "Set a room's topic, or clear it with no words (the room's owner and admins).", ["parley room topic --user alice '#book club' Chapter 4 on Friday"], async (rooms, context) => {
    const [spec, ...words] = args(context, 1, 'which room');
    const room = await findRoom(context.api, spec!);
    const changed = await rooms.update(room.id, { topic: words.join(' ') });
    report(context, changed, changed.topic ? `The topic of #${sanitize(changed.name)} is now: ${sanitize(changed.topic)}` : `Cleared the topic of #${sanitize(changed.name)}.`);
  }),
];

export const room: Command = {
  name: 'room',
  summary: 'create, join, leave a room; invite, remove, rename, topic',
  help: () =>
    [
      'Usage: parley room create|join|leave|invite|remove|rename|topic [arguments] [options]',
      '',
      'Actions:',
      ...ACTIONS.map((a) => `  ${a.name.slice(5).padEnd(8)}${a.summary}`),
      '',
      "A room is named by its name after # (quote it for the shell: '#book club') or by its id.",
      "Run 'parley room <action> --help' for an action's options and examples.",
      '',
      'Options:',
      '  -h, --help  show this help',
      '',
      'Examples:',
      "  parley room create --user alice Book club --invite bob,carol",
      "  parley room invite --user alice '#book club' dave",
      "  parley room leave --user carol '#book club'",
      '',
    ].join('\n'),
  async run(argv) {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h') {
      // Asked for: stdout and success. Not asked for: stderr and a usage error (as `parley` alone).
      if (name === undefined) {
        process.stderr.write(room.help());
        process.exitCode = 2;
      } else process.stdout.write(room.help());
      return;
    }
    const chosen = ACTIONS.find((a) => a.name === `room ${name}`);
    if (!chosen) throw new UsageError(`unknown room action '${name}'; actions: ${ACTIONS.map((a) => a.name.slice(5)).join(', ')}`, 'room');
    await chosen.run(rest);
  },
};
