-- Records that a client got tokens from a session (for back-channel logout).
-- KEYS: 1 P s:<key>
-- ARGV: 1 the field c:<client>, 2 the most fields the hash may hold
-- Returns 1, 0 (no session), -1 (too many clients).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], '1')
return 1
