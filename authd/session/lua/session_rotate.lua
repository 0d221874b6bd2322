-- Moves a session to a new key (its id rotates at a login or step-up).
-- KEYS: 1 P s:<old key>, 2 P s:<new key>, 3 P z:sess, 4 P u:<uid>
-- ARGV: 1 old key, 2 new key, 3 attributes (JSON), 4 seen, 5 expiry + grace (ms),
--       6 expiry, 7 the user index's TTL (ms)
-- Returns 1, 0 (no old session), -1 (the new key is taken).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'j', ARGV[3], 'seen', ARGV[4])
redis.call('PEXPIREAT', KEYS[2], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[7])
return 1
