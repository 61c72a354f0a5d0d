--[[
The writes of RateLimitService.block and unblock on Redis (blocks/redis-blocks.ts), one operation
per call. Time is Redis's own (TIME): the bucket script compares the block ends against it.

ARGV[1]        'block' or 'mark'

'block': sets a block
KEYS[1]        the identity's block key: a hash of block ends, in microseconds of Redis time
ARGV[2]        duration_ms, how long the block lasts from now
ARGV[3..]      the fields to block: '*' (every limit of the identity) or bucket keys (one limit)
               Each field's end becomes now + duration_ms, so a second block replaces the first,
               shorter or longer. The key expires (PEXPIREAT) with its last block; fields that
               have ended are dropped.
Reply          the block's remaining time in ms (duration_ms)

'mark': tells the fleet that blocks changed (instances poll this key every second)
KEYS[1]        the fleet's block marker: a hash holding `epoch`
ARGV[2]        live_ms: the marker lives at least this long from now (0: an unblock, which
               never creates the marker)
               While the marker exists, decisions read block keys; every change raises the epoch,
               and an instance that sees a new epoch forgets the blocks it had learned.
Reply          the new epoch, or 0 when there was no marker to raise
]]
local op = ARGV[1]

if op == 'block' then
  local clock = redis.call('TIME')
  local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
  local duration_ms = tonumber(ARGV[2])
  local end_us = now_us + duration_ms * 1000
  for i = 3, #ARGV do
    redis.call('HSET', KEYS[1], ARGV[i], end_us)
  end
  local last_us = end_us
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    local field_end_us = tonumber(fields[i + 1])
    if field_end_us == nil or field_end_us <= now_us then
      redis.call('HDEL', KEYS[1], fields[i])
    elseif field_end_us > last_us then
      last_us = field_end_us
    end
  end
  redis.call('PEXPIREAT', KEYS[1], math.ceil(last_us / 1000))
  return duration_ms
end

if op == 'mark' then
  local live_ms = tonumber(ARGV[2])
  if live_ms == 0 and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
  local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  if redis.call('PTTL', KEYS[1]) < live_ms then redis.call('PEXPIRE', KEYS[1], live_ms) end
  return epoch
end

return redis.error_reply('unknown op ' .. tostring(op))
