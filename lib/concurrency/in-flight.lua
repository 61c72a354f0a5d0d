-- The slots in flight of one identity under one concurrency limit: a sorted set whose members
-- are slot ids and whose scores are each slot's lease end, in Redis milliseconds. A slot whose
-- lease has ended is gone, whoever held it: an instance that dies holding slots gives them back
-- within one lease, and holders renew theirs while their requests run.
local key      = KEYS[1]           -- the slots (keys/bucket-key.ts slotsKey)
local mode     = tonumber(ARGV[1]) -- 1 acquire, 2 renew, 3 release
local slot     = ARGV[2]           -- the slot id: unique per acquisition, fleet-wide
local max      = tonumber(ARGV[3]) -- slots at most (acquire)
local lease_ms = tonumber(ARGV[4]) -- a slot's lease from now, in milliseconds (acquire, renew)

if mode == 3 then
  return redis.call('ZREM', key, slot)
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_end = now + lease_ms

-- The key lives as long as its longest lease (holders may use different leases).
local function keep_key()
  if redis.call('PTTL', key) < lease_ms then
    redis.call('PEXPIRE', key, lease_ms)
  end
end

if mode == 2 then
  if not redis.call('ZSCORE', key, slot) then
    return 0 -- the lease ended before this renewal: the slot is gone
  end
  redis.call('ZADD', key, lease_end, slot)
  keep_key()
  return 1
end

redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local held = redis.call('ZCARD', key)
if held >= max then
  return { 0, held }
end
redis.call('ZADD', key, lease_end, slot)
keep_key()
return { 1, held + 1 }
