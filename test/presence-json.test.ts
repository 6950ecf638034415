import { describe, expect, it } from 'vitest';
import { Presence } from '../src/server/chat/presence.ts';

// Welcomes carry the online list serialised once and kept up to date (bench: connections).
describe('the serialised online list', () => {
  it('always equals the list of online users as JSON, through arrivals, extra tabs and departures', () => {
    const presence = new Presence();
    const check = () => expect(presence.usersJson()).toBe(JSON.stringify(presence.users()));
    check();
    const users = Array.from({ length: 5 }, (_, i) => ({ id: i + 1, name: i === 2 ? 'zoë "quoted"' : `u${i + 1}` }));
    for (const user of users) {
      presence.join(user);
      check();
    }
    presence.join(users[1]!); // a second tab changes nothing
    check();
    presence.leave(users[1]!);
    check();
    presence.leave(users[1]!);
    check();
    presence.leave(users[0]!);
    presence.join({ id: 9, name: 'late' });
    check();
    for (const user of users) presence.leave(user);
    presence.leave({ id: 9, name: 'late' });
    check();
    expect(presence.usersJson()).toBe('[]');
  });
});
