-- The sessions past their expiry, for the sweep: scans the expiry index's shards,
-- P x:000 .. P x:<n - 1> (three hex digits), from a given one on.
-- ARGV: 1 P x:, 2 the number of shards, 3 the shard to start at, 4 now (ms), 5 the most
--       keys to return
-- Returns {next shard to start at, key, ...} (keys of 32 bytes).
-- The shard names are derived here, not passed as KEYS: the store suits a single Redis
-- or Sentinel, not Cluster (see redis.c).
local n, first, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5])
local out = {0}
for i = 0, n - 1 do
  local shard = (first + i) % n
  local left = max - (#out - 1)
  local got = redis.call('ZRANGEBYSCORE', ARGV[1] .. string.format('%03x', shard),
    '-inf', ARGV[4], 'LIMIT', 0, left)
  for _, k in ipairs(got) do out[#out + 1] = k end
  out[1] = shard
  if #out - 1 >= max then return out end
end
out[1] = first
return out
