import { RoomApi } from '../../client/index.ts';
import { clientCommand, integerOption } from '../command.ts';
import { note, printJson, printLine, sanitize } from '../output.ts';
import { signIn } from '../sign-in.ts';

export const people = clientCommand({
  name: 'people',
  summary: 'find people by the start of their name',
  usage: 'parley people [<prefix>] [--limit N] [--json] [options]',
  description: [
    'Print everyone whose name starts with the prefix (ignoring case), online or not, by name:',
    'the names to give to --to, or to `parley room invite`. Without a prefix, everyone (at most --limit).',
  ].join('\n'),
  options: {
    limit: { type: 'string', value: '<N>', description: 'at most this many, 1-10000 (default 100)' },
    json: { type: 'boolean', description: 'one JSON object ({"id","name","online"}) per person and line' },
  },
  takesArguments: true,
  examples: ['parley people --user alice al', 'parley people --user alice 小 --json'],
  async run(context) {
    const prefix = context.positionals.join(' ');
    const wanted = integerOption(context, 'limit', 1, 10_000) ?? 100;
    const { api } = await signIn(context);
    const found = [];
    for (let after: string | undefined; found.length < wanted; ) {
      const page = await new RoomApi(api).people(prefix, { limit: Math.min(100, wanted - found.length), ...(after ? { after } : {}) });
      found.push(...page.people);
      if (!page.next) break;
      after = page.next;
    }
    for (const person of found) {
      if (context.values.json) printJson(person);
      else printLine(`${sanitize(person.name)}${person.online ? '  (online)' : ''}`);
    }
    if (!context.values.json && found.length === 0) note(`No one's name starts with "${prefix}".`);
  },
});
