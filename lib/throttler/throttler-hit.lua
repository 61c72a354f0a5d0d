--[[
One call of @nestjs/throttler's ThrottlerStorage.increment(key, ttl, limit, blockDuration, name),
with the semantics of throttler 6's own in-memory storage (ThrottlerStorageService), line for
line, on Redis's clock. throttler-records.ts is the same code in TypeScript, for the memory store.

A throttler key has one record: the window's end (shared by every throttler name on the key), the
block, and per name a log of hits, each hit expiring `ttl` after it was made (a sliding log: at
most limit + 1 live hits per name). The record is one string, packed with `struct`, so a call is
3 commands (TIME, GET, SET) and a record takes 17 bytes, plus per name 5 bytes and its name, plus
8 bytes per hit (one hit of 'default': 37 bytes, which Redis keeps inside the key's object):

  header   '<ddB'   window end (ms), block end (ms), 1 while blocked
  per name '<B' name length, the name, '<I4' hit count, then each hit's expiry (ms) as '<d',
           in ascending order

The key expires when its window, its block and every hit in it have ended (when throttler's sweep
may drop its record too); the next call then starts afresh.

KEYS[1]  the record
ARGV[1]  name            the throttler's name
ARGV[2]  ttl_ms          a hit's lifetime and the window's length
ARGV[3]  limit           hits allowed per ttl
ARGV[4]  block_ms        how long a caller over the limit stays blocked; <= 0: no block, only
                         the calls over the limit are refused

Reply, 4 integers: total_hits, time_to_expire_s, is_blocked (1 or 0), time_to_block_expire_s.
Seconds are rounded up, as throttler's. time_to_block_expire_s means something only while
blocked (throttler's own is 0 or negative otherwise, and so is this one).
]]
local key = KEYS[1]
local name = ARGV[1]
local ttl_ms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local block_ms = tonumber(ARGV[4])

local pack, unpack, ceil = struct.pack, struct.unpack, math.ceil
local HEADER = '<ddB'
local HEADER_BYTES = 17

local clock = redis.call('TIME')
local now_ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- The record, split around this name's log: `before` and `after` hold the other names' parts,
-- whose latest hit `others_until_ms` keeps the record.
local expires_at_ms, block_expires_at_ms, blocked = nil, 0, false
local before, hits, after, others_until_ms = '', '', '', 0
local record = redis.call('GET', key)
if record then
  local blocked_flag
  expires_at_ms, block_expires_at_ms, blocked_flag = unpack(HEADER, record)
  blocked = blocked_flag == 1
  local at, found_at, found_end = HEADER_BYTES + 1, nil, nil
  while at <= #record do
    local length, name_at = unpack('<B', record, at)
    local count, log_at = unpack('<I4', record, name_at + length)
    local log_end = log_at + 8 * count
    if not found_at and record:sub(name_at, name_at + length - 1) == name then
      found_at, found_end = at, log_end
      hits = record:sub(log_at, log_end - 1)
    elseif count > 0 then
      local latest = unpack('<d', record, log_end - 8)
      if latest > others_until_ms then others_until_ms = latest end
    end
    at = log_end
  end
  if found_at then
    before, after = record:sub(HEADER_BYTES + 1, found_at - 1), record:sub(found_end)
  else
    before = record:sub(HEADER_BYTES + 1)
  end
end

-- Number of hits expiring at or before t (the log is in ascending order): a binary search.
local function expiring_by(t)
  local low, high = 0, #hits / 8
  if high == 0 or unpack('<d', hits, 8 * high - 7) <= t then return high end
  while low < high do
    local mid = (low + high - (low + high) % 2) / 2
    if unpack('<d', hits, 8 * mid + 1) > t then high = mid else low = mid + 1 end
  end
  return low
end

if #hits > 0 and unpack('<d', hits) <= now_ms then hits = hits:sub(8 * expiring_by(now_ms) + 1) end
local total_hits = #hits / 8
if not expires_at_ms then expires_at_ms = now_ms + ttl_ms end

local time_to_expire = ceil((expires_at_ms - now_ms) / 1000)
if time_to_expire <= 0 then
  expires_at_ms = now_ms + ttl_ms
  time_to_expire = ceil((expires_at_ms - now_ms) / 1000)
end

local function hit()
  local expiry = now_ms + ttl_ms
  local at = 8 * expiring_by(expiry)
  if at == #hits then
    hits = hits .. pack('<d', expiry)
  else
    hits = hits:sub(1, at) .. pack('<d', expiry) .. hits:sub(at + 1)
  end
  total_hits = total_hits + 1
end

local reply_hits, reply_blocked, time_to_block_expire
if block_ms <= 0 then
  local over = total_hits >= limit
  if not over then hit() end
  time_to_block_expire = 0
  if over then
    time_to_block_expire = time_to_expire
    if total_hits > 0 then time_to_block_expire = ceil((unpack('<d', hits) - now_ms) / 1000) end
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
  time_to_block_expire = ceil((block_expires_at_ms - now_ms) / 1000)
  if time_to_block_expire <= 0 and blocked then
    blocked = false
    hits = ''
    total_hits = 0
    hit()
  end
  reply_hits = total_hits
  reply_blocked = blocked
end

local keep_until_ms = math.max(expires_at_ms, others_until_ms)
if blocked and block_expires_at_ms > keep_until_ms then keep_until_ms = block_expires_at_ms end
if #hits > 0 then
  local latest = unpack('<d', hits, #hits - 7)
  if latest > keep_until_ms then keep_until_ms = latest end
end
local keep_ms = ceil(keep_until_ms - now_ms)
if keep_ms >= 1 then
  local log = ''
  if #hits > 0 then log = pack('<B', #name) .. name .. pack('<I4', #hits / 8) .. hits end
  redis.call('SET', key, pack(HEADER, expires_at_ms, block_expires_at_ms, blocked and 1 or 0)
    .. before .. log .. after, 'PX', keep_ms)
else
  -- Everything has ended already (a ttl <= 0): nothing to keep.
  redis.call('DEL', key)
end

return { reply_hits, time_to_expire, reply_blocked and 1 or 0, time_to_block_expire }
