-- Stores a new session (sess_put). Run by authd/session/redis.c with EVALSHA.
-- KEYS: 1 P s:<key>, 2 P z:sess, 3 P u:<uid>
-- ARGV: 1 attributes (JSON), 2 uid, 3 seen, 4 idle, 5 absolute expiry, 6 expiry,
--       7 expiry + grace (ms), 8 key, 9 the user index's TTL (ms)
-- Returns 1, or 0 when the key is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'j', ARGV[1], 'uid', ARGV[2], 'seen', ARGV[3],
  'idle', ARGV[4], 'aexp', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[8])
redis.call('SADD', KEYS[3], ARGV[8])
redis.call('PEXPIRE', KEYS[3], ARGV[9])
return 1
