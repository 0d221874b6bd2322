-- Part of the sweep: drops user index entries whose session record is gone. A session
-- the sweep ends leaves its index through sess_end's unlink; this catches the ones whose
-- record Redis expired first (no authd swept for longer than the grace period). Scans
-- the shards P ui:0000 .. P ui:<n - 1> (four hex digits) from a given one on.
-- ARGV: 1 P ui:, 2 P s:, 3 the number of shards, 4 the shard to start at, 5 how many
--       shards to scan
-- Returns {next shard to start at, entries removed}.
-- The key names are derived here, not passed as KEYS: the store suits a single Redis or
-- Sentinel, not Cluster (see redis.c).
local n, first, count = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local removed = 0
for i = 0, count - 1 do
  local shard = ARGV[1] .. string.format('%04x', (first + i) % n)
  for _, k in ipairs(redis.call('HKEYS', shard)) do
    if redis.call('EXISTS', ARGV[2] .. k) == 0 then
      removed = removed + redis.call('HDEL', shard, k)
    end
  end
end
return {(first + count) % n, removed}
