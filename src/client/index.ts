export { ParleyApi, type ApiOptions } from './api.ts';
export { ChatSession, newClientId, type ConnectionState, type SendsDelayed, type SessionEvents, type SessionOptions, type SocketLike } from './session.ts';
export { isStoreUnavailable, sendUntilStored, storeRetryDelay, untilStored, type StoreWaitHooks } from './store-retry.ts';
export { ParleyClientError } from './errors.ts';
export { RoomApi } from './rooms.ts';
