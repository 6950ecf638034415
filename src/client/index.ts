export { ParleyApi, type ApiOptions } from './api.ts';
export { ChatSession, newClientId, type ConnectionState, type SessionEvents, type SessionOptions, type SocketLike } from './session.ts';
export { ParleyClientError } from './errors.ts';
export { RoomApi } from './rooms.ts';
