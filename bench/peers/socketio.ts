/**
 * `socketio`: the canonical Socket.IO chat server (the shape of socket.io's own chat example),
 * with its defaults. Every user joins a room named after itself so a DM is `io.to(rooms)`; the
 * world chat is `io.emit`. Socket.IO encodes a broadcast once for all recipients.
 */
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { dmMembers, exitOnSignals, messageOf, portArgument, type PeerUser } from './chat.ts';

const http = createServer();
const io = new Server(http, { serveClient: false });

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
exitOnSignals(() => io.close());
