-- Reads a session and, when asked and due, slides its idle expiry (sess_get).
-- KEYS: 1 P s:<key>, 2 P x:<shard>
-- ARGV: 1 now (ms), 2 "1" to touch, 3 grace (ms), 4 key (32 bytes)
-- Returns {0} (none), {2, fields} (expired), {1, fields}.
local function I(x) return string.format('%.0f', x) end
-- k created, s last use and x absolute expiry both in ms after k, d idle timeout
local v = redis.call('HMGET', KEYS[1], 'k', 's', 'd', 'x')
local ct, since, idle, life = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]), tonumber(v[4])
if not ct or not since or not idle or not life then return {0} end
local seen, aexp = ct + since, ct + life
local now = tonumber(ARGV[1])
local exp = math.min(seen + idle, aexp)
if now >= exp then return {2, redis.call('HGETALL', KEYS[1])} end
if ARGV[2] == '1' and now - seen >= math.min(math.floor(idle / 20), 60000) then
  exp = math.min(now + idle, aexp)
  redis.call('HSET', KEYS[1], 's', I(now - ct))
  redis.call('PEXPIREAT', KEYS[1], I(exp + tonumber(ARGV[3])))
  redis.call('ZADD', KEYS[2], I(exp), ARGV[4])
end
return {1, redis.call('HGETALL', KEYS[1])}
