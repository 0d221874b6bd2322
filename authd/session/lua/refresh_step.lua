-- Looks up a refresh token's family and, for a rotation, moves the family to a new
-- token; a token that is not the family's current one revokes the family (reuse).
-- KEYS: 1 P rt:<token key>, 2 P rt:<new token key> (the same for a peek)
-- ARGV: 1 "rot" or "peek", 2 token key, 3 new token key, 4 the prefix P rf:
-- Returns {0} (none), {3, id, family} (revoked), {2, id, family} (reused: revoked
-- now), {1, id, family, payload}.
local fam = redis.call('GET', KEYS[1])
if not fam then return {0} end
local fk = ARGV[4] .. fam
local v = redis.call('HMGET', fk, 'cur', 'rev', 'j', 'p')
if not v[1] or not v[3] or not v[4] then return {0} end
if v[2] == '1' then return {3, fam, v[3]} end
if v[1] ~= ARGV[2] then
  if ARGV[1] == 'rot' then redis.call('HSET', fk, 'rev', '1') return {2, fam, v[3]} end
  return {3, fam, v[3]}
end
if ARGV[1] == 'rot' then
  local ttl = redis.call('PTTL', fk)
  if ttl <= 0 then return {0} end
  redis.call('HSET', fk, 'cur', ARGV[3])
  redis.call('SET', KEYS[2], fam, 'PX', ttl)
end
return {1, fam, v[3], v[4]}
