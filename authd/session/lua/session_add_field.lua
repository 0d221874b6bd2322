-- Adds a field to a session: an app that got tokens (c:<client> = "1", for back-channel
-- logout) or a CAS ticket the session issued (t:<ticket> = client "\n" service, for CAS
-- single logout).
-- KEYS: 1 P s:<key>
-- ARGV: 1 the field, 2 its value, 3 the prefix of its kind ("c:" or "t:"), 4 the most
--       fields of that kind the hash may hold
-- Returns 1, 0 (no session), -1 (too many of that kind).
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 1 end
local n = 0
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 2) == ARGV[3] then n = n + 1 end
end
if n >= tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
