-- Drops an ended session from its user's index (and from an older version's P v:<uid>).
-- KEYS: 1 P ui:<user shard>, 2 P v:<uid>
-- ARGV: 1 key (32 bytes)
-- Returns the number of entries removed.
return redis.call('HDEL', KEYS[1], ARGV[1]) + redis.call('HDEL', KEYS[2], ARGV[1])
