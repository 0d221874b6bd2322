-- Counts one more failure in a window (the window starts at the first one).
-- KEYS: 1 P k:<hash>
-- ARGV: 1 the window (ms)
-- Returns the count.
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
