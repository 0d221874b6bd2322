-- A user's session keys (sessions list, logging out everywhere, the per-user cap): the
-- entries of the user's shard of the user index whose value is the user's tag (other
-- users' sessions share the shard; a tag two users share is told apart by the caller,
-- which reads each record's uid), then those an older version kept in P v:<uid>.
-- KEYS: 1 P ui:<user shard>, 2 P v:<uid>
-- ARGV: 1 the user's tag
-- Returns {key, ...} (32 bytes each, no key twice).
local out, seen = {}, {}
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  if h[i + 1] == ARGV[1] then out[#out + 1] = h[i] seen[h[i]] = true end
end
for _, k in ipairs(redis.call('HKEYS', KEYS[2])) do
  if not seen[k] then out[#out + 1] = k end
end
return out
