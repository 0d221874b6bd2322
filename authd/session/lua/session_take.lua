-- Removes a session and returns what it held (ending it, or the sweep).
-- KEYS: 1 P s:<key>, 2 P z:sess
-- ARGV: 1 "1" to take it only when expired, 2 now (ms), 3 key
-- Returns {0} (none), {3} (not expired: kept, its expiry set again), {1, fields}.
local function I(x) return string.format('%.0f', x) end
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) return {0} end
if ARGV[1] == '1' then
  local v = redis.call('HMGET', KEYS[1], 'seen', 'idle', 'aexp')
  local exp = math.min((tonumber(v[1]) or 0) + (tonumber(v[2]) or 0),
    tonumber(v[3]) or 0)
  if tonumber(ARGV[2]) < exp then
    redis.call('ZADD', KEYS[2], I(exp), ARGV[3]) return {3} end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return {1, h}
