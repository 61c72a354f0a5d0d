--[[
Sliding window: the functions of ALGORITHMS[3], called by algorithms/bucket-script.lua.

The weighted two-window counter (Cloudflare's): windows are aligned to Redis time as for the
fixed window, and a request at `elapsed_us` into window n sees
  weighted = previous * (window_us - elapsed_us) / window_us + current
where previous and current are the tokens taken in windows n - 1 and n, as if the previous
window's had been spread evenly over it. It passes when weighted + cost <= capacity.

A bucket is one string key, '<n>:<previous>:<current>' (a few dozen bytes: one key per
identity and limit, whatever the traffic), expiring (PX) when its counts weigh nothing: at the
end of window n + 1 (of window n when current is 0). A string from the next window (the clock
stepped back, failover) is judged at that window's start until the clock gets there: a step
back of up to a window can deny for as long as the step, never admit more. A string from
further ahead counts for nothing, so one read under another windowMs (a limit whose window
changed) cannot hold its counts in a window decades away. Counts are whole: a fractional cost counts as
its ceiling. Leasing is not offered for windows: `extra` is ignored and `granted` always 0.

check(key, capacity, window_us, cost, now_us) -> retry_after_ms, window, nil
  retry_after_ms  0 if it passes; -1 if cost > capacity (never); else ms until the weight of the
                  counts has fallen enough (into the next window if the current count alone is
                  too high)
  window          { n, previous, current }, the counts as of now
settle(key, capacity, window_us, cost, window, _, write, extra, now_us)
  -> remaining (whole tokens under capacity - weighted), reset_ms (until both counts weigh
     nothing), granted (0)
refund(key, capacity, window_us, tokens, now_us) -> remaining, reset_ms
  lowers the current count, then the previous one (not below 0)
]]
local TOLERANCE_TOKENS = 1e-6 -- absorbs float rounding of the weight, never accumulates

local sliding_window = {}

local function load(key, window_us, now_us)
  local n = (now_us - now_us % window_us) / window_us
  local previous, current = 0, 0
  local value = redis.call('GET', key)
  if value then
    local stored_n, stored_previous, stored_current = string.match(value, '^(%d+):(%d+):(%d+)$')
    stored_n = tonumber(stored_n)
    if stored_n == nil then
      -- not ours: judged as empty, overwritten by the next write
    elseif stored_n == n or stored_n == n + 1 then -- this window, or the next one
      n, previous, current = stored_n, tonumber(stored_previous), tonumber(stored_current)
    elseif stored_n == n - 1 then
      previous = tonumber(stored_current)
    end
  end
  return { n = n, previous = previous, current = current }
end

-- Microseconds into the window (0 for a later window's string) and the weighted count.
local function weigh(window, window_us, now_us)
  local elapsed_us = math.max(0, now_us - window.n * window_us)
  return elapsed_us, window.previous * (window_us - elapsed_us) / window_us + window.current
end

function sliding_window.check(key, capacity, window_us, cost, now_us)
  local window = load(key, window_us, now_us)
  local elapsed_us, weighted = weigh(window, window_us, now_us)
  cost = math.ceil(cost)
  local retry_after_ms = 0
  if cost > capacity then
    retry_after_ms = -1
  elseif weighted + cost > capacity + TOLERANCE_TOKENS then
    local spare = capacity - cost
    local wait_us
    if window.current <= spare then
      -- within this window, once the previous count's weight has fallen to spare - current
      wait_us = window_us - (spare - window.current) * window_us / window.previous - elapsed_us
    else
      -- in the next window, once the current count's weight has fallen to spare
      wait_us = 2 * window_us - spare * window_us / window.current - elapsed_us
    end
    wait_us = wait_us + math.max(0, window.n * window_us - now_us)
    retry_after_ms = math.max(1, math.ceil(wait_us / 1000))
  end
  return retry_after_ms, window, nil
end

-- Microseconds until both counts weigh nothing: the end of window n + 1, or of n.
local function reset_us_of(window, window_us, now_us)
  if window.current > 0 then return (window.n + 2) * window_us - now_us end
  if window.previous > 0 then return (window.n + 1) * window_us - now_us end
  return 0
end

local function answer(capacity, window, window_us, now_us)
  local _, weighted = weigh(window, window_us, now_us)
  local remaining = math.floor(capacity - weighted + TOLERANCE_TOKENS)
  if remaining < 0 then remaining = 0 end
  return remaining, math.ceil(reset_us_of(window, window_us, now_us) / 1000)
end

-- Expires when its counts weigh nothing.
local function store(key, window, window_us, now_us)
  redis.call('SET', key, string.format('%d:%d:%d', window.n, window.previous, window.current),
    'PX', math.ceil(reset_us_of(window, window_us, now_us) / 1000))
end

function sliding_window.settle(key, capacity, window_us, cost, window, _, write, extra, now_us)
  cost = math.ceil(cost)
  if write and cost > 0 then
    window.current = window.current + cost
    store(key, window, window_us, now_us)
  end
  local remaining, reset_ms = answer(capacity, window, window_us, now_us)
  return remaining, reset_ms, 0
end

function sliding_window.refund(key, capacity, window_us, tokens, now_us)
  local window = load(key, window_us, now_us)
  if window.current + window.previous > 0 then
    local back = math.ceil(tokens)
    local from_current = math.min(back, window.current)
    window.current = window.current - from_current
    window.previous = math.max(0, window.previous - (back - from_current))
    if window.current + window.previous == 0 then
      redis.call('DEL', key)
    else
      store(key, window, window_us, now_us)
    end
  end
  return answer(capacity, window, window_us, now_us)
end

ALGORITHMS[3] = sliding_window
