import { batch, computed, signal } from '@preact/signals';
import { ChatSession, newClientId, type ConnectionState, type SendsDelayed, type SocketLike } from '../../client/session.ts';
import type { ParleyApi } from '../../client/api.ts';
import { ParleyClientError } from '../../client/errors.ts';
// Values from the zod-free protocol modules: the browser bundle does not carry the schemas.
import { WORLD, dmId, dmPeer, isRoomId, type ConversationId } from '../../protocol/conversations.ts';
import { CLOSE_CODES } from '../../protocol/errors.ts';
import type { ConversationSummary, Message, ServerFrameOf, UserRef } from '../../protocol/frames.ts';
import { HISTORY_PAGE_DEFAULT, MAX_TEXT_CODE_POINTS } from '../../protocol/limits.ts';
import { TaskBatch } from '../lib/task-batch.ts';
import type { RoomInfo } from '../../protocol/rooms.ts';
import { RoomApi } from '../../client/rooms.ts';
import { FileTransfers } from './file-transfers.ts';
import { Timeline } from './timeline.ts';

/** Someone else took this user out of a room: who, and which room (it is gone from the list). */
export interface RoomRemoval {
  conv: ConversationId;
  room: string;
  by: UserRef;
}

export interface StoreHooks {
  /** The conversation the user is looking at (null on the phone's list view). */
  viewing(): ConversationId | null;
  /** A direct message from someone else arrived. */
  onDirectMessage(message: Message): void;
  /** The server ended this session (logged out elsewhere, or the cookie expired). */
  onSessionEnded(): void;
}

/**
 * The client-side cache of one signed-in user's chat: conversations with their unread counts
 * and previews, who is online, and a Timeline per conversation. The server is the source of
 * truth; every change here comes from a ChatSession event or a history page.
 */
export class ChatStore {
  readonly connection = signal<ConnectionState>('connecting');
  /**
   * Set while the server cannot store sends (its database is away): the messages stay "sending"
   * and the session sends them again by itself; cleared once one gets through.
   */
  readonly sendsDelayed = signal<SendsDelayed | null>(null);
  /** True once the first welcome arrived (the sidebar has real data). */
  readonly ready = signal(false);
  readonly summaries = signal<ReadonlyMap<ConversationId, ConversationSummary>>(new Map());
  readonly online = signal<ReadonlyMap<number, UserRef>>(new Map());
  readonly maxText = signal(MAX_TEXT_CODE_POINTS);
  /** Until the first welcome says otherwise, the server's offer check is the only one. */
  readonly maxFileBytes = signal(Number.MAX_SAFE_INTEGER);
  readonly session: ChatSession;
  /** File cards and transfers in this user's direct conversations. */
  readonly files: FileTransfers;
  private readonly timelines = new Map<ConversationId, Timeline>();
  private readonly arrivalListeners = new Set<(message: Message) => void>();
  /** Live messages are applied in batches (one render per batch, however fast they come). */
  private readonly arrivals = new TaskBatch<Message>((messages) => this.applyArrivals(messages));
  private reconnectChecks = 0;

  /** The rooms this user is in, most recent activity first. */
  readonly rooms = computed(() => this.byActivity('room'));
  /** Direct conversations, most recent first. */
  readonly directs = computed(() => this.byActivity('dm'));
  /** Set when someone else removed this user from a room, to tell them so (until dismissed). */
  readonly removal = signal<RoomRemoval | null>(null);
  /** The room and people API. */
  readonly roomApi: RoomApi;

  readonly unreadTotal = computed(() => {
    let total = 0;
    for (const summary of this.summaries.value.values()) total += summary.unread;
    return total;
  });

  constructor(
    private readonly api: ParleyApi,
    readonly me: UserRef,
    private readonly hooks: StoreHooks,
    createSocket: (url: string) => SocketLike = (url) => new WebSocket(url) as unknown as SocketLike,
  ) {
    this.summaries.value = new Map([[WORLD, { id: WORLD, kind: 'world', lastSeq: 0, readSeq: 0, unread: 0 }]]);
    this.session = new ChatSession({ url: api.socketUrl, createSocket, backoffMs: { initial: 400, max: 8000 } });
    this.files = new FileTransfers(api, this.session, () => this.maxFileBytes.value);
    this.roomApi = new RoomApi(api);
    this.wire();
  }

  start(): void {
    this.session.connect();
  }

  /** Set once this store is stopped on purpose (sign-out): its closed connection is no news. */
  readonly stopped = signal(false);

  stop(): void {
    this.stopped.value = true;
    this.session.close();
    this.arrivals.close();
  }

  timeline(conv: ConversationId): Timeline {
    let timeline = this.timelines.get(conv);
    if (!timeline) this.timelines.set(conv, (timeline = new Timeline(conv)));
    return timeline;
  }

  /**
   * Calls `listener` for each message that arrives over the live connection (new ones, and the
   * ones missed while disconnected), never for history pages. Returns the unsubscribe.
   */
  onArrival(listener: (message: Message) => void): () => void {
    this.arrivalListeners.add(listener);
    return () => this.arrivalListeners.delete(listener);
  }

  summary(conv: ConversationId): ConversationSummary | undefined {
    return this.summaries.value.get(conv);
  }

  /** The DM with `peer`, created locally (the server creates it with its first message). */
  directWith(peer: UserRef): ConversationId {
    const conv = dmId(this.me.id, peer.id);
    if (!this.summaries.value.has(conv)) {
      this.setSummary({ id: conv, kind: 'dm', peer, lastSeq: 0, readSeq: 0, unread: 0 });
    }
    return conv;
  }

  /** A conversation this user just created or joined: shown at once, before the server's frame comes. */
  adopt(summary: ConversationSummary): void {
    if (!this.summaries.value.has(summary.id)) this.setSummary(summary);
  }

  /** Forgets a conversation this user is no longer in (left, or removed): its summary and what was loaded of it. */
  forget(conv: ConversationId): void {
    if (!this.summaries.value.has(conv)) return;
    const next = new Map(this.summaries.value);
    next.delete(conv);
    this.summaries.value = next;
    this.timelines.delete(conv);
  }

  /** Shows the newest page of a conversation (or the page before the live messages already held). */
  async open(conv: ConversationId): Promise<void> {
    const timeline = this.timeline(conv);
    if (timeline.loaded || timeline.load.value === 'loading') return;
    timeline.load.value = 'loading';
    try {
      const oldest = timeline.oldestSeq;
      const summary = this.summaries.value.get(conv);
      // A DM nobody has written in yet exists only in this tab (the server creates it with its
      // first message): there is no history to ask for, and asking would be answered 404.
      const unwritten = summary?.kind === 'dm' && summary.lastSeq === 0 && oldest === undefined;
      const page = unwritten
        ? { messages: [], hasMore: false }
        : await this.api.history(conv, { limit: HISTORY_PAGE_DEFAULT, ...(oldest === undefined ? {} : { before: oldest }) });
      batch(() => {
        this.files.notePage(page.messages);
        timeline.insert(page.messages, this.me.id);
        timeline.hasMore.value = page.hasMore;
        timeline.loaded = true;
        timeline.load.value = 'idle';
      });
      // From here on a reconnect replays exactly what this timeline misses.
      this.session.markHeld(conv, timeline.newestSeq ?? 0);
    } catch {
      timeline.load.value = 'error';
    }
  }

  async loadOlder(conv: ConversationId): Promise<void> {
    const timeline = this.timeline(conv);
    const before = timeline.oldestSeq;
    if (!timeline.loaded || !timeline.hasMore.value || timeline.loadingOlder.value || before === undefined) return;
    timeline.loadingOlder.value = true;
    try {
      const page = await this.api.history(conv, { before, limit: HISTORY_PAGE_DEFAULT });
      // One update, so the list re-renders once and may ask for the next page straight away.
      batch(() => {
        this.files.notePage(page.messages);
        timeline.insert(page.messages, this.me.id);
        timeline.hasMore.value = page.hasMore;
        timeline.loadingOlder.value = false;
      });
    } catch {
      // The next scroll to the top tries again.
      timeline.loadingOlder.value = false;
    }
  }

  /** Sends with local echo; `clientId` is reused by a retry so the server stores it once. */
  send(conv: ConversationId, text: string, clientId = newClientId()): void {
    const timeline = this.timeline(conv);
    if (timeline.echo(clientId)) timeline.updateEcho(clientId, { status: 'sending' });
    else timeline.addEcho({ conv, clientId, text, ts: Date.now(), status: 'sending' });
    this.session.send(conv, text, clientId).then(
      (ack) => {
        const echo = timeline.echo(clientId);
        if (!echo) return;
        // Normally the message frame came first and retired the echo; a retried duplicate has no message frame.
        timeline.insert([{ conv, seq: ack.seq, ts: ack.ts, sender: this.me, clientId, text: echo.text }], this.me.id);
        this.noteMessage({ conv, seq: ack.seq, ts: ack.ts, sender: this.me, clientId, text: echo.text });
      },
      (error: unknown) => {
        const code = error instanceof ParleyClientError ? error.code : 'NETWORK';
        timeline.updateEcho(clientId, { status: 'failed', error: code });
      },
    );
  }

  retry(conv: ConversationId, clientId: string): void {
    const echo = this.timeline(conv).echo(clientId);
    if (echo) this.send(conv, echo.text, clientId);
  }

  discard(conv: ConversationId, clientId: string): void {
    this.timeline(conv).removeEcho(clientId);
  }

  /** Marks everything in `conv` read, here and (through the server) on every other device. */
  markRead(conv: ConversationId): void {
    const summary = this.summary(conv);
    if (!summary || (summary.unread === 0 && summary.readSeq >= summary.lastSeq)) return;
    if (this.connection.value !== 'online') return;
    this.session.markRead(conv, summary.lastSeq);
    this.setSummary({ ...summary, readSeq: summary.lastSeq, unread: 0 });
  }

  private wire(): void {
    const { session } = this;
    // Every other event is applied after the messages that came before it, as they came.
    const on: typeof session.on = (type, listener) =>
      session.on(type, (...args: Parameters<typeof listener>) => {
        this.arrivals.flush();
        (listener as (...a: typeof args) => void)(...args);
      });
    session.on('message', (message) => this.arrivals.add(message));
    on('state', ({ state, closeCode }) => {
      this.connection.value = state;
      // A closed session delays nothing: what it held was rejected.
      if (state === 'closed') this.sendsDelayed.value = null;
      if (state === 'closed' && closeCode === CLOSE_CODES.SESSION_ENDED) this.hooks.onSessionEnded();
      if (state === 'reconnecting') void this.checkStillSignedIn();
    });
    on('welcome', (welcome) => {
      batch(() => {
        const next = new Map<ConversationId, ConversationSummary>();
        for (const summary of welcome.conversations) next.set(summary.id, summary);
        // Keep DMs opened here that have no message yet (the server does not know them).
        for (const [id, summary] of this.summaries.value) if (!next.has(id) && summary.kind === 'dm' && summary.lastSeq === 0) next.set(id, summary);
        if (!next.has(WORLD)) next.set(WORLD, { id: WORLD, kind: 'world', lastSeq: 0, readSeq: 0, unread: 0 });
        this.summaries.value = next;
        this.online.value = new Map(welcome.online.map((user) => [user.id, user]));
        this.maxText.value = welcome.limits.maxTextCodePoints;
        this.maxFileBytes.value = welcome.limits.maxFileBytes;
        this.ready.value = true;
      });
    });
    on('sendsDelayed', (delayed) => (this.sendsDelayed.value = delayed));
    on('sendsFlowing', () => (this.sendsDelayed.value = null));
    on('synced', () => {
      this.reconnectChecks = 0;
      const viewing = this.hooks.viewing();
      if (viewing && isVisible()) this.markRead(viewing);
    });
    on('conversation', (conversation) => {
      if (!this.summaries.value.has(conversation.id)) this.setSummary(conversation);
    });
    on('room', (room) => this.applyRoom(room));
    on('member', (change) => this.applyMember(change));
    on('read', ({ conv, seq, unread }) => {
      const summary = this.summary(conv);
      if (summary && seq >= summary.readSeq) this.setSummary({ ...summary, readSeq: seq, unread });
    });
    on('presence', (changes) => {
      const next = new Map(this.online.value);
      for (const { user, online } of changes) {
        if (online) next.set(user.id, user);
        else next.delete(user.id);
      }
      this.online.value = next;
    });
    on('gap', ({ conv }) => {
      // More was missed than the server replays: start this conversation over from its newest page.
      const timeline = this.timeline(conv);
      timeline.reset();
      if (this.hooks.viewing() === conv) void this.open(conv);
    });
  }

  /** Messages from the live connection, in the order they came: into their timelines and the sidebar, then to listeners. */
  private applyArrivals(messages: Message[]): void {
    const held = new Set<string>();
    const fresh = messages.filter((message) => {
      const key = `${message.conv} ${message.seq}`;
      if (held.has(key) || this.timeline(message.conv).has(message.seq)) return false;
      held.add(key);
      return true;
    });
    const read = new Set<ConversationId>();
    batch(() => {
      const byConv = new Map<ConversationId, Message[]>();
      for (const message of messages) {
        const list = byConv.get(message.conv);
        if (list) list.push(message);
        else byConv.set(message.conv, [message]);
      }
      for (const [conv, list] of byConv) this.timeline(conv).insert(list, this.me.id);
      for (const message of messages) if (this.noteMessage(message)) read.add(message.conv);
    });
    // One read receipt per conversation and batch, not one per message.
    for (const conv of read) this.markRead(conv);
    for (const message of fresh) {
      if (message.sender.id !== this.me.id && dmPeer(message.conv, this.me.id) !== null) this.hooks.onDirectMessage(message);
      for (const listener of this.arrivalListeners) listener(message);
    }
  }

  /** Updates the sidebar for a confirmed message: preview, last seq, unread count. True when it should be marked read (it is on screen). */
  private noteMessage(message: Message): boolean {
    const summary = this.summary(message.conv) ?? this.summaryFor(message);
    if (message.seq <= summary.lastSeq) {
      if (!summary.last || summary.last.seq < message.seq) this.setSummary({ ...summary, last: message });
      return false;
    }
    const mine = message.sender.id === this.me.id;
    const viewing = this.hooks.viewing() === message.conv && isVisible();
    const next: ConversationSummary = { ...summary, lastSeq: message.seq, last: message };
    if (mine) next.readSeq = Math.max(summary.readSeq, message.seq);
    // System messages (a join, a rename) never count as unread, here as on the server.
    else if (!viewing && !message.system && message.seq > summary.readSeq) next.unread = summary.unread + 1;
    this.setSummary(next);
    return !mine && viewing;
  }

  private summaryFor(message: Message): ConversationSummary {
    if (message.conv === WORLD) return { id: WORLD, kind: 'world', lastSeq: 0, readSeq: 0, unread: 0 };
    // A room is always announced (conversation frame) before its messages; this is only a fallback.
    if (isRoomId(message.conv)) return { id: message.conv, kind: 'room', lastSeq: 0, readSeq: 0, unread: 0 };
    const peerId = dmPeer(message.conv, this.me.id);
    const peer = message.sender.id === peerId ? message.sender : this.online.value.get(peerId ?? -1);
    return { id: message.conv, kind: 'dm', ...(peer ? { peer } : {}), lastSeq: 0, readSeq: 0, unread: 0 };
  }

  /** New details of a room (name, topic, visibility); an older `rev` than the one held changes nothing. */
  private applyRoom(room: RoomInfo): void {
    const summary = this.summary(room.id);
    if (!summary?.room || summary.room.rev > room.rev) return;
    this.setSummary({ ...summary, room });
  }

  /** Someone's membership of a room changed: the member count, this user's role, or this user is out. */
  private applyMember({ conv, user, role, memberCount, rev, by }: ServerFrameOf<'member'>): void {
    const summary = this.summary(conv);
    // Older than what is held (a change refilled after a Redis outage, overtaken by a newer live one).
    if (!summary?.room || summary.room.rev > rev) return;
    if (user.id === this.me.id && role === null) {
      // Left on another device, or removed: nothing more of the room will come.
      this.forget(conv);
      if (by.id !== this.me.id) this.removal.value = { conv, room: summary.room.name, by };
      return;
    }
    const mine = user.id === this.me.id && role !== null ? { role } : {};
    this.setSummary({ ...summary, ...mine, room: { ...summary.room, memberCount, rev } });
  }

  private byActivity(kind: ConversationSummary['kind']): ConversationSummary[] {
    return [...this.summaries.value.values()]
      .filter((summary) => summary.kind === kind)
      .sort((a, b) => (b.last?.ts ?? 0) - (a.last?.ts ?? 0) || a.id.localeCompare(b.id));
  }

  private setSummary(summary: ConversationSummary): void {
    const next = new Map(this.summaries.value);
    next.set(summary.id, summary);
    this.summaries.value = next;
  }

  /** A handshake refused for an expired session looks like a dropped connection; ask over HTTP. */
  private async checkStillSignedIn(): Promise<void> {
    this.reconnectChecks += 1;
    if (this.reconnectChecks % 3 !== 0) return;
    try {
      await this.api.me();
    } catch (error) {
      if (error instanceof ParleyClientError && error.code === 'UNAUTHENTICATED') {
        this.session.close();
        this.hooks.onSessionEnded();
      }
    }
  }
}

function isVisible(): boolean {
  return typeof document === 'undefined' || document.visibilityState === 'visible';
}
