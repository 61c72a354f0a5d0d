--[[
Fixed window: the functions of ALGORITHMS[2], called by algorithms/bucket-script.lua.

Windows are aligned to Redis time: window n covers [n * window_us, (n + 1) * window_us)
microseconds since the epoch, the same for every identity. A bucket is one integer, the count of
tokens taken in its window tagged with the window, negated: -(tag * COUNT_SPAN + count), tag = n
mod TAG_SPAN. Its magnitude stays below 2^53, so it is exact in Lua and Redis keeps it as an
integer inside the key's object; negative, so that no other algorithm's value under the same key
(a token bucket's positive time, a sliding window's string) reads as a count when a limit
changes algorithm. The key expires (PX) at its window's end; the tag makes the count exact
whatever the expiry's millisecond rounding. A count from the next window (the clock stepped
back, failover) keeps counting until that window ends: a step back of up to a window can deny for
as long as the step, never admit more. A tag further ahead is taken for a stale one, so a count
read under another windowMs (a limit whose window changed) counts for nothing. A window with
nothing taken has no key.

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
local COUNT_SPAN = 1073741824 -- 2^30, above the largest capacity (options/defaults.ts)
local TAG_SPAN = 8388608 -- 2^23: TAG_SPAN * COUNT_SPAN = 2^53, and a stale tag reads as the
-- current or the next window's once in 4 million

local fixed_window = {}

function fixed_window.check(key, capacity, window_us, cost, now_us)
  local window = (now_us - now_us % window_us) / window_us
  local count = 0
  local stored = tonumber(redis.call('GET', key))
  if stored and stored < 0 then
    local ahead = (math.floor(-stored / COUNT_SPAN) - window) % TAG_SPAN
    if ahead <= 1 then -- this window, or the next; else an earlier one, ended
      window = window + ahead
      count = -stored % COUNT_SPAN
    end
  end
  local end_us = (window + 1) * window_us
  cost = math.ceil(cost)
  local retry_after_ms = 0
  if cost > capacity then
    retry_after_ms = -1
  elseif count + cost > capacity then
    retry_after_ms = math.ceil((end_us - now_us) / 1000)
  end
  return retry_after_ms, count, end_us
end

local function store(key, window_us, count, end_us, now_us)
  local tag = (end_us / window_us - 1) % TAG_SPAN
  redis.call('SET', key, string.format('%d', -(tag * COUNT_SPAN + count)),
    'PX', math.ceil((end_us - now_us) / 1000))
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
      -- the key holds this count, tagged, expiring at the window's end: DECRBY keeps both
      -- (count + cost <= capacity < COUNT_SPAN, so the tag is untouched)
      redis.call('DECRBY', key, cost)
    else
      store(key, window_us, count + cost, end_us, now_us)
    end
    count = count + cost
  end
  local remaining, reset_ms = answer(capacity, count, end_us, now_us)
  return remaining, reset_ms, 0
end

function fixed_window.refund(key, capacity, window_us, tokens, now_us)
  local _, count, end_us = fixed_window.check(key, capacity, window_us, 0, now_us)
  if count > 0 then
    count = math.max(0, count - math.ceil(tokens))
    if count == 0 then
      redis.call('DEL', key)
    else
      store(key, window_us, count, end_us, now_us)
    end
  end
  return answer(capacity, count, end_us, now_us)
end

ALGORITHMS[2] = fixed_window
