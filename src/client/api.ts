import type {
  AckReply,
  OnlineReply,
  ConversationsReply,
  Credentials,
  ErrorCode,
  ErrorReply,
  HistoryReply,
  MeReply,
  PasswordChange,
  SessionReply,
  SessionStateReply,
  UserRef,
} from '../protocol/index.ts';
import { DEVICE_COOKIE } from '../protocol/index.ts';
import { ParleyClientError } from './errors.ts';

export interface ApiOptions {
  /** Bearer token for non-browser clients; browsers rely on the HttpOnly cookie instead. */
  token?: string | null;
  /** The device token of an earlier login (non-browser clients; a browser keeps it as a cookie). */
  deviceToken?: string | null;
  fetch?: typeof fetch;
}

/** The HTTP half of the protocol (docs/PROTOCOL.md, "HTTP API"). */
export class ParleyApi {
  private readonly fetchImpl: typeof fetch;
  token: string | null;
  /**
   * Marks this client as a known device of the account it logged in to, so that strangers'
   * failed logins never hold it back (docs/SECURITY.md, "Failed logins"). Kept from the
   * `parley_device` cookie of a login in Node; a browser keeps that cookie itself.
   */
  deviceToken: string | null;

  constructor(
    readonly baseUrl: string,
    options: ApiOptions = {},
  ) {
    this.token = options.token ?? null;
    this.deviceToken = options.deviceToken ?? null;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async register(credentials: Credentials): Promise<SessionReply> {
    const reply = await this.request<SessionReply>('POST', '/api/register', credentials);
    this.token = reply.token;
    return reply;
  }

  async login(credentials: Credentials): Promise<SessionReply> {
    const reply = await this.request<SessionReply>('POST', '/api/login', credentials);
    this.token = reply.token;
    return reply;
  }

  async logout(): Promise<void> {
    await this.request<void>('POST', '/api/logout');
    this.token = null;
  }

  /** Ends every session of this account, on every device; this client is signed out too. */
  async logoutEverywhere(): Promise<void> {
    await this.request<void>('POST', '/api/logout/everywhere');
    this.token = null;
  }

  /** Changes the password; every other session of the user ends, this one goes on. */
  async changePassword(change: PasswordChange): Promise<void> {
    await this.request<void>('POST', '/api/password', change);
  }

  me(): Promise<MeReply> {
    return this.request('GET', '/api/me');
  }

  /** Whose session this is, or `{user: null}`: unlike me(), being signed out is not an error. */
  session(): Promise<SessionStateReply> {
    return this.request('GET', '/api/session');
  }

  conversations(): Promise<ConversationsReply> {
    return this.request('GET', '/api/conversations');
  }

  history(conv: string, options: { before?: number; limit?: number } = {}): Promise<HistoryReply> {
    const query = new URLSearchParams();
    if (options.before !== undefined) query.set('before', String(options.before));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.request('GET', `/api/conversations/${encodeURIComponent(conv)}/messages${suffix}`);
  }

  /** Sends one message over HTTP (no live session needed); resolves once it is committed. */
  send(conv: string, text: string, clientId?: string): Promise<AckReply> {
    return this.request('POST', `/api/conversations/${encodeURIComponent(conv)}/messages`, {
      text,
      ...(clientId === undefined ? {} : { clientId }),
    });
  }

  /** Who is online now, without appearing online yourself. */
  online(): Promise<OnlineReply> {
    return this.request('GET', '/api/online');
  }

  user(name: string): Promise<UserRef> {
    return this.request('GET', `/api/users/${encodeURIComponent(name)}`);
  }

  /** A JSON request with the same credentials and error handling as every call above (client/files.ts). */
  json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, body);
  }

  /** A request of any shape with this client's credentials, answered as is: file bytes (client/files.ts). */
  raw(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set('authorization', `Bearer ${this.token}`);
    return this.fetchImpl(new URL(path, this.baseUrl), { credentials: 'same-origin', ...init, headers });
  }

  /** The WebSocket URL of this server. */
  get socketUrl(): string {
    const url = new URL('/ws', this.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return url.toString();
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (this.deviceToken && path === '/api/login') headers.cookie = `${DEVICE_COOKIE}=${this.deviceToken}`;
    let response: Response;
    try {
      response = await this.fetchImpl(new URL(path, this.baseUrl), {
        method,
        headers,
        credentials: 'same-origin',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      // Node's fetch only says "fetch failed"; why (refused, an untrusted certificate) is its cause.
      const reason = ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
      throw new ParleyClientError('NETWORK', `Cannot reach ${this.baseUrl}: ${reason}`);
    }
    // Node's fetch shows Set-Cookie (a browser's never does, and keeps the cookie itself).
    const device = response.headers.getSetCookie?.().find((cookie) => cookie.startsWith(`${DEVICE_COOKIE}=`));
    if (device) this.deviceToken = device.slice(DEVICE_COOKIE.length + 1).split(';')[0]!;
    if (response.status === 204) return undefined as T;
    const payload = (await response.json().catch(() => null)) as T | ErrorReply | null;
    if (!response.ok) {
      const error = (payload as ErrorReply | null)?.error;
      throw new ParleyClientError(
        (error?.code as ErrorCode | undefined) ?? 'INTERNAL',
        error?.message ?? `HTTP ${response.status}`,
        response.status,
        error?.retryAfterMs,
      );
    }
    return payload as T;
  }
}
