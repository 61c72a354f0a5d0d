--[[
Fixed window: the functions of ALGORITHMS[2], called by algorithms/bucket-script.lua.

Windows are aligned to Redis time: window n covers [n * window_us, (n + 1) * window_us)
microseconds since the epoch, the same for every identity. A bucket is the count of tokens taken
in its window, stored as a plain integer (at least 1), in a key that expires exactly at its
window's end (SET ... PXAT end_ms: windowMs is a whole number of ms, so end_ms is exact). Why
plain: a count below 10,000 is one of Redis's shared integer objects (unless maxmemory-policy is
an LRU or LFU one), so the key allocates no value object of its own, 16 B less per identity than
a value Redis must allocate (as a count packed with its window's tag was). A window with nothing
taken has no key.

The window a count belongs to is told by the key's expiry (PEXPIRETIME, Redis >= 7.0; on an
older server the decision fails with "Unknown Redis command", never passes), read only when the
value is a count: the value counts iff it is an integer in [1, COUNT_MAX] and the key
expires at the end of the current window or of the next one. The next one: a clock that stepped
back (failover) keeps the later window's count until that window ends, so a step back of up to a
window can deny for as long as the step, never admit more. Anything else reads as count 0 and is
overwritten by the next write: no key, a token bucket's time (far above COUNT_MAX), a sliding
window's 'n:p:c' string, a count kept under another windowMs (a limit whose window changed) whose
end is not this window's or the next's, a count whose window has ended. A count under another
windowMs whose end is this window's or the next's counts until that end: it can deny, never
admit more.

Exact at the boundary, although Redis's expiry is in ms and lazy: Redis deems a key expired only
once its ms clock is past PXAT, and in a script it judges expiry at a snapshot of its clock taken
when the script starts, before TIME runs, so TIME >= snapshot. A count of the current window
expires at end_ms > TIME >= snapshot, so Redis never drops it early. A key whose window has ended
may still be there (the snapshot at end_ms itself, or TIME past end_ms), but its expiry is then
the start of the current window, which is neither end it is compared with.

Counts are whole: a fractional cost counts as its ceiling. Leasing is not offered for windows
(options/resolve-limits.ts refuses it): `extra` is ignored and `granted` always 0.

check(key, capacity, window_us, cost, now_us) -> retry_after_ms, count, end_us
  retry_after_ms  0 if the window holds the cost; -1 if cost > capacity (never); else ms to the
                  window's end
settle(key, capacity, window_us, cost, count, end_us, write, extra, now_us)
  -> remaining, reset_ms (ms to the window's end; 0 while nothing is taken), granted (0)
refund(key, capacity, window_us, tokens, now_us) -> remaining, reset_ms
  lowers the current window's count (not below 0)
]]
local COUNT_MAX = 1073741824 -- 2^30, above the largest capacity (options/defaults.ts)

local fixed_window = {}

function fixed_window.check(key, capacity, window_us, cost, now_us)
  -- Before Redis 7.0 (no REDIS_VERSION_NUM), ask for PEXPIRETIME at once: a server without it
  -- (or, before 6.2, without SET ... PXAT) fails here, before anything is written, with "Unknown
  -- Redis command", which bucket-script.lua keeps to this decision and the client reports as a
  -- configuration error. Without this, the first hit of a key would be written and only the
  -- second would fail.
  if not redis.REDIS_VERSION_NUM then redis.call('PEXPIRETIME', key) end
  local end_us = now_us - now_us % window_us + window_us
  local count = 0
  local stored = tonumber(redis.call('GET', key))
  if stored and stored >= 1 and stored <= COUNT_MAX and stored % 1 == 0 then
    local expires_us = redis.call('PEXPIRETIME', key) * 1000
    if expires_us == end_us or expires_us == end_us + window_us then
      end_us = expires_us
      count = stored
    end
  end
  cost = math.ceil(cost)
  local retry_after_ms = 0
  if cost > capacity then
    retry_after_ms = -1
  elseif count + cost > capacity then
    retry_after_ms = math.ceil((end_us - now_us) / 1000)
  end
  return retry_after_ms, count, end_us
end

local function answer(capacity, count, end_us, now_us)
  local reset_ms = 0
  if count > 0 then reset_ms = math.ceil((end_us - now_us) / 1000) end
  return math.max(0, capacity - count), reset_ms
end

function fixed_window.settle(key, capacity, window_us, cost, count, end_us, write, extra, now_us)
  cost = math.ceil(cost)
  if write and cost > 0 then
    if count > 0 then
      -- the key holds this count and expires at its window's end: INCRBY keeps the expiry
      redis.call('INCRBY', key, cost)
    else
      redis.call('SET', key, cost, 'PXAT', string.format('%d', end_us / 1000))
    end
    count = count + cost
  end
  local remaining, reset_ms = answer(capacity, count, end_us, now_us)
  return remaining, reset_ms, 0
end

function fixed_window.refund(key, capacity, window_us, tokens, now_us)
  local _, count, end_us = fixed_window.check(key, capacity, window_us, 0, now_us)
  if count > 0 then
    local left = math.max(0, count - math.ceil(tokens))
    if left == 0 then
      redis.call('DEL', key)
    elseif left ~= count then
      redis.call('DECRBY', key, count - left) -- keeps the expiry
    end
    count = left
  end
  return answer(capacity, count, end_us, now_us)
end

ALGORITHMS[2] = fixed_window
