import { RoomApi, type ParleyApi } from '../client/index.ts';
import { ROOM_ID_PATTERN, type ConversationSummary, type RoomInfo } from '../protocol/index.ts';
import { CliError } from './errors.ts';

/** How the CLI compares room names: as the server keys them, ignoring case. */
const nameKey = (name: string) => name.normalize('NFC').trim().toLowerCase();

/**
 * A room named on the command line: `#Book club`, `Book club` or its id (`room:Q3vX9kLm2Pa7`, with
 * or without `#`). A name is looked up among your rooms; with `directory`, among public rooms too
 * (to join one). Two rooms with the name is an error that lists their ids.
 */
export async function findRoom(api: ParleyApi, spec: string, options: { directory?: boolean } = {}): Promise<RoomInfo> {
  const wanted = spec.startsWith('#') ? spec.slice(1) : spec;
  const rooms = new RoomApi(api);
  if (ROOM_ID_PATTERN.test(wanted)) return rooms.info(wanted);
  const mine = (await api.conversations()).conversations.flatMap((c: ConversationSummary) => (c.room ? [c.room] : []));
  let found = mine.filter((room) => nameKey(room.name) === nameKey(wanted));
  if (found.length === 0 && options.directory) {
    const { rooms: listed } = await rooms.directory({ q: wanted, limit: 100 });
    found = listed.filter((room) => nameKey(room.name) === nameKey(wanted));
  }
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new CliError(`No room called "${wanted}"${options.directory ? '' : ' among yours'}; see 'parley rooms'${options.directory ? ' and parley rooms --public' : ''}.`);
  }
  throw new CliError(`Several rooms are called "${wanted}": ${found.map((room) => `#${room.id}`).join(', ')}; name one by its id.`);
}
