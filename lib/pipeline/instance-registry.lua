--[[
The live instances of a fleet (pipeline/instance-registry.layer.ts): a sorted set of instance ids
scored by their last heartbeat, in milliseconds of Redis time (TIME), so that instances with
skewed clocks agree on who is live.

KEYS[1]   the fleet's instance set
ARGV[1]   'beat' (this instance is live) or 'leave' (it is stopping)
ARGV[2]   the instance's id
ARGV[3]   ttl_ms: an instance not heard from for this long is not counted. The set itself
          expires after it, once every instance has stopped.

Reply     the number of live instances after this call
]]
local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl_ms = tonumber(ARGV[3])

if ARGV[1] == 'leave' then
  redis.call('ZREM', KEYS[1], ARGV[2])
else
  redis.call('ZADD', KEYS[1], now_ms, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ttl_ms)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%d', now_ms - ttl_ms))
return redis.call('ZCARD', KEYS[1])
