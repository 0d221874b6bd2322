-- Revokes a refresh token family.
-- KEYS: 1 P rf:<id>
-- Returns 1, 2 when it was revoked already, or 0 when there is no such family.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'rev') == '1' then return 2 end
redis.call('HSET', KEYS[1], 'rev', '1')
return 1
