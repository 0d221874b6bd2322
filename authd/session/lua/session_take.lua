-- Removes a session and returns what it held (ending it, or the sweep).
-- KEYS: 1 P s:<key>, 2 P x:<shard>
-- ARGV: 1 "1" to take it only when expired, 2 now (ms), 3 key (32 bytes)
-- Returns {0} (none), {3} (not expired: kept, its expiry set again), {1, fields}.
local function I(x) return string.format('%.0f', x) end
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then redis.call('ZREM', KEYS[2], ARGV[3]) return {0} end
if ARGV[1] == '1' then
  -- k created, s last use and x absolute expiry both in ms after k, d idle timeout
  local v = redis.call('HMGET', KEYS[1], 'k', 's', 'd', 'x')
  local ct = tonumber(v[1]) or 0
  local exp = math.min(ct + (tonumber(v[2]) or 0) + (tonumber(v[3]) or 0),
    ct + (tonumber(v[4]) or 0))
  if tonumber(ARGV[2]) < exp then
    redis.call('ZADD', KEYS[2], I(exp), ARGV[3]) return {3} end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return {1, h}
