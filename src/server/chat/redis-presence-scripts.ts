/**
 * The Lua scripts behind RedisOnline (redis-online.ts), each one atomic in Redis, so two nodes
 * never both announce the same change. Keys, under a prefix P:
 * - P..'entries': a sorted set of `<userId>@<node>`, scored by when that entry expires (ms);
 * - P..'u:'..userId: a sorted set of the nodes the user is on, with the same expiries;
 * - P..'names': a hash of userId to the user's UserRef as JSON.
 * A user is online while one of their entries has not expired. Times are Redis's: each node's
 * clock corrected by its offset from Redis's (redis/redis-clock.ts), so a node whose clock is off
 * neither expires the others' entries nor has its own expired.
 */

/**
 * ARGV: prefix, node, now, expiresAt, then (userId, userJson, online 1|0) per user.
 * Puts or removes this node's entry of each user; returns the users whose cluster-wide state
 * changed, as a flat list of (userId, 1|0).
 */
export const UPDATE = `
local p, node, now, expires = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local changed = {}
for i = 5, #ARGV, 3 do
  local id, json, online = ARGV[i], ARGV[i + 1], ARGV[i + 2] == '1'
  local uk = p .. 'u:' .. id
  local was = redis.call('ZCOUNT', uk, '(' .. now, '+inf') > 0
  if online then
    redis.call('ZADD', uk, expires, node)
    redis.call('ZADD', p .. 'entries', expires, id .. '@' .. node)
    redis.call('HSET', p .. 'names', id, json)
  else
    redis.call('ZREM', uk, node)
    redis.call('ZREM', p .. 'entries', id .. '@' .. node)
    if redis.call('ZCARD', uk) == 0 then redis.call('HDEL', p .. 'names', id) end
  end
  local is = redis.call('ZCOUNT', uk, '(' .. now, '+inf') > 0
  if is ~= was then
    table.insert(changed, id)
    table.insert(changed, is and 1 or 0)
  end
end
return changed
`;

/**
 * ARGV: prefix, now, limit. Removes expired entries (a node that stopped refreshing: it died);
 * returns the users left with no entry at all, as a flat list of (userId, userJson). Whoever
 * removes an entry is the only one to see it, so each such user is announced offline once.
 */
export const SWEEP = `
local p, now = ARGV[1], ARGV[2]
local gone = {}
local expired = redis.call('ZRANGEBYSCORE', p .. 'entries', '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, entry in ipairs(expired) do
  local at = string.find(entry, '@', 1, true)
  local id, node = string.sub(entry, 1, at - 1), string.sub(entry, at + 1)
  local uk = p .. 'u:' .. id
  redis.call('ZREM', p .. 'entries', entry)
  redis.call('ZREM', uk, node)
  -- The user's last entry: announced now (an expired one left would announce it when swept in turn).
  if redis.call('ZCARD', uk) == 0 then
    table.insert(gone, id)
    table.insert(gone, redis.call('HGET', p .. 'names', id) or '')
    redis.call('HDEL', p .. 'names', id)
  end
end
return gone
`;

/** ARGV: prefix, now. Every user online now, as their UserRef JSON. */
export const SNAPSHOT = `
local p, now = ARGV[1], ARGV[2]
local seen, users = {}, {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', p .. 'entries', '(' .. now, '+inf')) do
  local id = string.sub(entry, 1, string.find(entry, '@', 1, true) - 1)
  if not seen[id] then
    seen[id] = true
    local json = redis.call('HGET', p .. 'names', id)
    if json then table.insert(users, json) end
  end
end
return users
`;
