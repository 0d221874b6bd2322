-- Stores a new session (sess_put). Run by authd/session/redis.c with EVALSHA.
-- KEYS: 1 P s:<key>, 2 P x:<shard> (its expiry index), 3 P ui:<user shard> (the user
--       index's shard)
-- ARGV: 1 expiry, 2 expiry + grace (ms), 3 key (32 bytes), 4 the user's tag, 5.. the
--       record's field, value pairs
-- Returns 1, or 0 when the key is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
return 1
