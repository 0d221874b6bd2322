-- Part of the sweep after an upgrade: empties the expiry index of an older version,
-- 1024 sorted sets P x:000 .. P x:3ff (three hex digits), into the current one,
-- P x:0000 .. P x:3fff (the shard of the key's first two bytes modulo 16384). An entry
-- whose expiry has passed moves with its expiry (unless the session is in the current
-- index already: a touch since the upgrade put it there), so the sweep's scan that
-- follows ends it with its event; one whose record is gone is dropped. Entries not yet
-- due stay until they are: the older sets are empty within the absolute timeout.
-- ARGV: 1 P x:, 2 P s:, 3 now (ms), 4 the most entries to move
-- Returns {older sets that still exist (-1 when the most was reached first), moved}.
local max, left, moved = tonumber(ARGV[4]), 0, 0
for shard = 0, 1023 do
  local old = ARGV[1] .. string.format('%03x', shard)
  if redis.call('EXISTS', old) == 1 then
    left = left + 1
    local due = redis.call('ZRANGEBYSCORE', old, '-inf', ARGV[3], 'WITHSCORES', 'LIMIT',
      0, max - moved)
    for i = 1, #due, 2 do
      local k = due[i]
      redis.call('ZREM', old, k)
      if #k == 32 and redis.call('EXISTS', ARGV[2] .. k) == 1 then
        local b1, b2 = string.byte(k, 1, 2)
        redis.call('ZADD', ARGV[1] .. string.format('%04x', (b1 * 256 + b2) % 16384), 'NX',
          due[i + 1], k)
      end
      moved = moved + 1
    end
    if moved >= max then return {-1, moved} end
  end
end
return {left, moved}
