-- Stores a new refresh token family and its first token.
-- KEYS: 1 P rf:<id>, 2 P rt:<token key>, 3 P uf:<uid>
-- ARGV: 1 family (JSON), 2 payload, 3 token key, 4 lifetime (ms), 5 id
-- Returns 1, or 0 when the id is taken.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'j', ARGV[1], 'p', ARGV[2], 'cur', ARGV[3], 'rev', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
return 1
