-- Stores an authorization code.
-- KEYS: 1 P c:<key>
-- ARGV: 1 payload, 2 lifetime (ms)
-- Returns 1, or 0 when the key is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
