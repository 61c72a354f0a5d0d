--[[
One call of @nestjs/throttler's ThrottlerStorage.increment(key, ttl, limit, blockDuration, name),
with the semantics of throttler 6's own in-memory storage (ThrottlerStorageService), line for
line, on Redis's clock. throttler-records.ts is the same code in TypeScript, for the memory store.

A record per throttler key holds the window's end (shared by every throttler name on the key) and
the block; each name has its own log of hits, each hit expiring `ttl` after it was made (a
sliding log: at most limit + 1 live hits per name). Both keys share the key's {hash tag}.

KEYS[1]  record: RECORD_FORMAT packed by struct (41 bytes): the window's end (ms), the block's
         end (ms), when its window, block and every hit of every name have ended (ms), the id of
         the last hit, and 1 while blocked
KEYS[2]  hits of this throttler name: sorted set, score = the hit's expiry (ms), member = its id
ARGV[1]  ttl_ms          a hit's lifetime and the window's length
ARGV[2]  limit           hits allowed per ttl
ARGV[3]  block_ms        how long a caller over the limit stays blocked; <= 0: no block, only
                         the calls over the limit are refused

Reply, 4 integers: total_hits, time_to_expire_s, is_blocked (1 or 0), time_to_block_expire_s.
Seconds are rounded up, as throttler's. time_to_block_expire_s means something only while
blocked (throttler's own is 0 or negative otherwise, and so is this one).

Both keys expire when everything in them has ended (when throttler's sweep may drop the record
too); the next call then starts afresh. A new key costs 5 commands, a known one 7.
]]
local record_key = KEYS[1]
local hits_key = KEYS[2]
local ttl_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local block_ms = tonumber(ARGV[3])

local RECORD_FORMAT = '<ddddB'

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

local expires_at_ms, block_expires_at_ms, keep_until_ms, seq, blocked = nil, 0, 0, 0, false
local packed = redis.call('GET', record_key)
if packed then
  local blocked_flag
  expires_at_ms, block_expires_at_ms, keep_until_ms, seq, blocked_flag =
    struct.unpack(RECORD_FORMAT, packed)
  blocked = blocked_flag == 1
end

-- The hits key expires with the record: without a record, there are no hits.
local total_hits = 0
if expires_at_ms then
  redis.call('ZREMRANGEBYSCORE', hits_key, '-inf', now_ms)
  total_hits = redis.call('ZCARD', hits_key)
else
  expires_at_ms = now_ms + ttl_ms
end

local time_to_expire = math.ceil((expires_at_ms - now_ms) / 1000)
if time_to_expire <= 0 then
  expires_at_ms = now_ms + ttl_ms
  time_to_expire = math.ceil((expires_at_ms - now_ms) / 1000)
end

local function hit()
  seq = seq + 1
  redis.call('ZADD', hits_key, now_ms + ttl_ms, seq)
  total_hits = total_hits + 1
  if now_ms + ttl_ms > keep_until_ms then keep_until_ms = now_ms + ttl_ms end
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

if expires_at_ms > keep_until_ms then keep_until_ms = expires_at_ms end
if blocked and block_expires_at_ms > keep_until_ms then keep_until_ms = block_expires_at_ms end
local keep_ms = math.ceil(keep_until_ms - now_ms)
if keep_ms >= 1 then
  redis.call('SET', record_key, struct.pack(RECORD_FORMAT, expires_at_ms, block_expires_at_ms,
    keep_until_ms, seq, blocked and 1 or 0), 'PX', keep_ms)
  redis.call('PEXPIRE', hits_key, keep_ms)
else
  -- Everything has ended already (a ttl <= 0): nothing to keep.
  redis.call('DEL', record_key, hits_key)
end

return { reply_hits, time_to_expire, reply_blocked and 1 or 0, time_to_block_expire }
