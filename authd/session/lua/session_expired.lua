-- The sessions past their expiry, for the sweep: scans up to a given number of the
-- expiry index's shards, P x:0000 .. P x:<n - 1> (four hex digits), from a given one on,
-- so one call holds Redis for a bounded time (redis.c calls it until it has been round
-- every shard or has enough keys).
-- ARGV: 1 P x:, 2 the number of shards, 3 the shard to start at, 4 how many shards to
--       scan, 5 now (ms), 6 the most keys to return
-- Returns {next shard to start at, key, ...} (keys of 32 bytes): the shard where the
-- most keys were reached (it may hold more), else the one after the last scanned.
-- The shard names are derived here, not passed as KEYS: the store suits a single Redis
-- or Sentinel, not Cluster (see redis.c).
local n, first, count, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[6])
local out = {(first + count) % n}
for i = 0, count - 1 do
  local shard = (first + i) % n
  local got = redis.call('ZRANGEBYSCORE', ARGV[1] .. string.format('%04x', shard),
    '-inf', ARGV[5], 'LIMIT', 0, max - (#out - 1))
  for _, k in ipairs(got) do out[#out + 1] = k end
  if #out - 1 >= max then out[1] = shard return out end
end
return out
