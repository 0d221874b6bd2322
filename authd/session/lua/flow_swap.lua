-- Changes a flow's payload when it is still the one the caller read, keeping its TTL.
-- KEYS: 1 P w:<key>
-- ARGV: 1 the payload expected, 2 the new payload
-- Returns 1 (changed), 2 (the payload is another one now), 0 (no such flow).
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if v ~= ARGV[1] then return 2 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return 1
