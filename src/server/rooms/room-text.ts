import { ROOM_NAME_MAX_CODE_POINTS, ROOM_TOPIC_MAX_CODE_POINTS } from '../../protocol/index.ts';
import { nameKeyOf } from '../accounts/names.ts';
import { ParleyError } from '../errors.ts';

// C0 and C1 controls, and line and paragraph separators: a name or topic is one line of text.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A room name: NFC, trimmed, 1-64 code points, any script, no control characters. */
export function checkRoomName(raw: string): { name: string; nameKey: string } {
  const name = raw.normalize('NFC').trim();
  const length = [...name].length;
  if (length < 1 || length > ROOM_NAME_MAX_CODE_POINTS || CONTROL.test(name)) {
    throw new ParleyError('ROOM_NAME_INVALID', `A room name is 1-${ROOM_NAME_MAX_CODE_POINTS} characters, without control characters.`);
  }
  return { name, nameKey: nameKeyOf(name) };
}

/** A topic: NFC, trimmed, at most 250 code points, no control characters; may be empty. */
export function checkTopic(raw: string): string {
  const topic = raw.normalize('NFC').trim();
  if ([...topic].length > ROOM_TOPIC_MAX_CODE_POINTS || CONTROL.test(topic)) {
    throw new ParleyError('ROOM_TOPIC_INVALID', `A topic is at most ${ROOM_TOPIC_MAX_CODE_POINTS} characters on one line, without control characters.`);
  }
  return topic;
}
