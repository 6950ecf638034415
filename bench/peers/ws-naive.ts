/**
 * `ws-naive`: a bare `ws` chat server written the way most Node.js chat servers are: on every
 * incoming frame it serialises the message once and calls `send()` for every recipient, so each
 * delivery is framed and written (one syscall) on its own.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { SocketsByUser, dmMembers, exitOnSignals, messageOf, portArgument, userOfUrl } from './chat.ts';

const wss = new WebSocketServer({ host: '127.0.0.1', port: portArgument(), perMessageDeflate: false, maxPayload: 64 * 1024 });
const byUser = new SocketsByUser<WebSocket>();

wss.on('connection', (ws, request) => {
  const user = userOfUrl(request.url);
  byUser.add(user.id, ws);
  ws.on('close', () => byUser.remove(user.id, ws));
  ws.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      return;
    }
    const message = messageOf(frame, user);
    if (!message) return;
    const text = JSON.stringify({ type: 'message', message });
    if (message.conv === 'world') {
      for (const client of wss.clients) client.send(text);
      return;
    }
    for (const id of dmMembers(message.conv)!) for (const client of byUser.of(id)) client.send(text);
  });
});

exitOnSignals(() => wss.close());
