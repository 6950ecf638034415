/**
 * `socketio`: the canonical Socket.IO chat server (the shape of socket.io's own chat example),
 * with its defaults. Every user joins a room named after itself so a DM is `io.to(rooms)`; the
 * world chat is `io.emit`. Socket.IO encodes a broadcast once for all recipients.
 *
 * `--redis URL`: one of several processes joined by Socket.IO's own Redis adapter
 * (`@socket.io/redis-adapter`), the way Socket.IO's documentation scales a chat over processes:
 * every broadcast is published once, and each process delivers it to its own sockets in the
 * rooms. The cluster scenario measures it on one process and on three, beside Parley.
 */
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { dmMembers, exitOnSignals, messageOf, optionalArgument, portArgument, type PeerUser } from './chat.ts';

const http = createServer();
const io = new Server(http, { serveClient: false });
const redisUrl = optionalArgument('--redis');
const redis = redisUrl ? [new Redis(redisUrl), new Redis(redisUrl)] : [];
if (redis.length === 2) io.adapter(createAdapter(redis[0], redis[1]));

io.on('connection', (socket) => {
  const auth = socket.handshake.auth as Partial<PeerUser>;
  const user: PeerUser = { id: Number(auth.id ?? 0), name: String(auth.name ?? `u${auth.id}`) };
  void socket.join(`u${user.id}`);
  socket.on('send', (frame: unknown) => {
    const message = messageOf(frame, user);
    if (!message) return;
    if (message.conv === 'world') io.emit('message', message);
    else io.to(dmMembers(message.conv)!.map((id) => `u${id}`)).emit('message', message);
  });
});

http.listen(portArgument(), '127.0.0.1');
exitOnSignals(() => {
  void io.close();
  for (const client of redis) client.disconnect();
});
