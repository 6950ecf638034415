import type { FastifyInstance } from 'fastify';
import {
  CONVERSATION_ID_PATTERN,
  historyQuery,
  sendBody,
  type AckReply,
  type ConversationsReply,
  type HistoryReply,
  type OnlineReply,
  type UserRef,
} from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { randomUUID } from 'node:crypto';
import type { Chat } from '../chat/chat.ts';
import { ParleyError } from '../errors.ts';
import type { PresenceView } from '../chat/presence.ts';
import { TokenBucket } from '../gateway/token-bucket.ts';
import type { Store } from '../storage/store.ts';
import type { Clock } from '../clock.ts';
import { requireUser } from './authenticate.ts';
import { parseBody } from './parse-body.ts';

export interface ConversationRouteDeps {
  accounts: Accounts;
  chat: Chat;
  store: Store;
  presence: PresenceView;
  sendRate: { perSecond: number; burst: number };
  clock: Clock;
}

export function conversationRoutes(app: FastifyInstance, deps: ConversationRouteDeps): void {
  const { accounts, chat, store, presence } = deps;
  // HTTP sends have no connection to hang a limiter on, so they get one bucket per user.
  const sendLimiters = new Map<number, TokenBucket>();
  const checkSendRate = (userId: number) => {
    let bucket = sendLimiters.get(userId);
    if (!bucket) sendLimiters.set(userId, (bucket = new TokenBucket(deps.sendRate.perSecond, deps.sendRate.burst, () => deps.clock.now())));
    const wait = bucket.take();
    if (wait > 0) throw new ParleyError('RATE_LIMITED', `Sending too fast; try again in ${wait} ms.`, { retryAfterMs: wait });
  };

  app.get('/api/conversations', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { conversations: await chat.conversationsOf(user) } satisfies ConversationsReply;
  });

  app.get<{ Params: { conv: string } }>('/api/conversations/:conv/messages', async (request) => {
    const { user } = await requireUser(accounts, request);
    const conv = request.params.conv;
    if (!CONVERSATION_ID_PATTERN.test(conv)) throw new ParleyError('NOT_FOUND', 'No such conversation.');
    const { before, limit } = parseBody(historyQuery, request.query);
    const page = await chat.history(user, conv, limit, before);
    return { conv, ...page } satisfies HistoryReply;
  });

  /** Sends a message without a live session (scripts, the CLI): the same path as the `send` frame. */
  app.post<{ Params: { conv: string } }>('/api/conversations/:conv/messages', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const conv = request.params.conv;
    if (!CONVERSATION_ID_PATTERN.test(conv)) throw new ParleyError('NOT_FOUND', 'No such conversation.');
    const body = parseBody(sendBody, request.body);
    checkSendRate(user.id);
    const ack = await chat.send(user, conv, body.clientId ?? randomUUID().replaceAll('-', ''), body.text);
    reply.status(201);
    return ack satisfies AckReply;
  });

  app.get('/api/online', async (request) => {
    await requireUser(accounts, request);
    return { online: presence.users() } satisfies OnlineReply;
  });

  /** Looks a user up by name (case-insensitively), to open a conversation with them. */
  app.get<{ Params: { name: string } }>('/api/users/:name', async (request) => {
    await requireUser(accounts, request);
    const found = await accounts.findUser(request.params.name);
    if (!found) throw new ParleyError('NOT_FOUND', 'No user with that name.');
    return { id: found.id, name: found.name } satisfies UserRef;
  });
}
