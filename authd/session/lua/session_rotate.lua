-- Moves a session to a new key (its id rotates at a login or step-up).
-- KEYS: 1 P s:<old key>, 2 P s:<new key>, 3 P x:<old key's shard>, 4 P x:<new key's
--       shard>, 5 P ui:<user shard>, 6 P v:<uid> (the index of an older version)
-- ARGV: 1 old key, 2 new key (32 bytes each), 3 expiry + grace (ms), 4 expiry, 5 the
--       user's tag, 6.. the record's field, value pairs (seen and the attributes)
-- Returns 1, 0 (no old session), -1 (the new key is taken).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 6))
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2])
redis.call('HDEL', KEYS[5], ARGV[1])
redis.call('HDEL', KEYS[6], ARGV[1])
redis.call('HSET', KEYS[5], ARGV[2], ARGV[5])
return 1
