--[[
One call of @nestjs/throttler's ThrottlerStorage.increment(key, ttl, limit, blockDuration, name),
with the semantics of throttler 6's own in-memory storage (ThrottlerStorageService), line for
line, on Redis's clock. throttler-records.ts is the same code in TypeScript, for the memory store.

A record per throttler key holds the window's end (shared by every throttler name on the key) and
the block; each name has its own log of hits, each hit expiring `ttl` after it was made (a
sliding log: at most limit + 1 live hits per name). Both keys share the key's {hash tag}.

KEYS[1]  record: hash { exp = window end (ms), bexp = block end (ms), blk = '1' while blocked,
         seq = id of the last hit }
KEYS[2]  hits of this throttler name: sorted set, score = the hit's expiry (ms), member = its id
ARGV[1]  ttl_ms          a hit's lifetime and the window's length
ARGV[2]  limit           hits allowed per ttl
ARGV[3]  block_ms        how long a caller over the limit stays blocked; <= 0: no block, only
                         the calls over the limit are refused

Reply, 4 integers: total_hits, time_to_expire_s, is_blocked (1 or 0), time_to_block_expire_s.
Seconds are rounded up, as throttler's. time_to_block_expire_s means something only while
blocked (throttler's own is 0 or negative otherwise, and so is this one).

The record lives until its window, its block and its newest hit have all ended (when throttler's
sweep may drop it too); then the next call starts afresh.
]]
local record_key = KEYS[1]
local hits_key = KEYS[2]
local ttl_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block_ms = tonumber(ARGV[3])

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local fields = redis.call('HMGET', record_key, 'exp', 'bexp', 'blk')
local expires_at_ms = tonumber(fields[1]) or (now_ms + ttl_ms)
local block_expires_at_ms = tonumber(fields[2]) or 0
local blocked = fields[3] == '1'

redis.call('ZREMRANGEBYSCORE', hits_key, '-inf', now_ms)
local total_hits = redis.call('ZCARD', hits_key)

local time_to_expire = math.ceil((expires_at_ms - now_ms) / 1000)
if time_to_expire <= 0 then
  expires_at_ms = now_ms + ttl_ms
  time_to_expire = math.ceil((expires_at_ms - now_ms) / 1000)
end

local function hit()
  local id = redis.call('HINCRBY', record_key, 'seq', 1)
  redis.call('ZADD', hits_key, now_ms + ttl_ms, id)
  total_hits = total_hits + 1
end

local reply_hits, reply_blocked, time_to_block_expire
if block_ms <= 0 then
  local over = total_hits >= limit
  if not over then hit() end
  time_to_block_expire = 0
  if over then
    time_to_block_expire = time_to_expire
    local oldest = redis.call('ZRANGE', hits_key, 0, 0, 'WITHSCORES')
    if oldest[2] then time_to_block_expire = math.ceil((tonumber(oldest[2]) - now_ms) / 1000) end
    reply_hits = total_hits + 1
  else
    reply_hits = total_hits
  end
  reply_blocked = over
else
  if not blocked then hit() end
  if total_hits > limit and not blocked then
    blocked = true
    block_expires_at_ms = now_ms + block_ms
  end
  time_to_block_expire = math.ceil((block_expires_at_ms - now_ms) / 1000)
  if time_to_block_expire <= 0 and blocked then
    blocked = false
    redis.call('DEL', hits_key)
    total_hits = 0
    hit()
  end
  reply_hits = total_hits
  reply_blocked = blocked
end

redis.call('HSET', record_key, 'exp', expires_at_ms, 'bexp', block_expires_at_ms,
  'blk', blocked and '1' or '0')
local keep_until_ms = expires_at_ms
if blocked and block_expires_at_ms > keep_until_ms then keep_until_ms = block_expires_at_ms end
local newest = redis.call('ZRANGE', hits_key, -1, -1, 'WITHSCORES')
if newest[2] then
  local newest_ms = tonumber(newest[2])
  redis.call('PEXPIREAT', hits_key, math.ceil(newest_ms))
  if newest_ms > keep_until_ms then keep_until_ms = newest_ms end
end
-- Another throttler name's hits may keep the record longer.
local ttl_left_ms = redis.call('PTTL', record_key)
if ttl_left_ms > 0 and now_ms + ttl_left_ms > keep_until_ms then
  keep_until_ms = now_ms + ttl_left_ms
end
redis.call('PEXPIREAT', record_key, math.ceil(keep_until_ms))

return { reply_hits, time_to_expire, reply_blocked and 1 or 0, time_to_block_expire }
