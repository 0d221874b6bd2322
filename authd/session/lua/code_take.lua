-- Redeems an authorization code once: marks it used and records what was issued.
-- KEYS: 1 P c:<key>
-- ARGV: 1 what is issued
-- Returns {0} (none), {2, payload, issued} (used before: a replay), {1, payload}.
local v = redis.call('HMGET', KEYS[1], 'p', 'u', 'i')
if not v[1] then return {0} end
if v[2] then return {2, v[1], v[3] or ''} end
redis.call('HSET', KEYS[1], 'u', '1', 'i', ARGV[1])
return {1, v[1]}
