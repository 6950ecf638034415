/**
 * Redis could not be reached at start: Parley does not start (once started, it reconnects for ever).
 * A file of its own so that the start-up code can recognise it without loading the Redis client.
 */
export class RedisUnavailableError extends Error {}
