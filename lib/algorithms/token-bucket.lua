--[[
Token bucket over N buckets, all-or-nothing, in one atomic call.

Each bucket is judged by its "debt": the microseconds it needs to be full again; a bucket holds
capacity - debt / us_per_token tokens. The value stored is one integer, the Redis time in
microseconds at which the bucket is full again (debt = full_at - now), which Redis keeps as an
integer inside the key's object: no string allocated. It is rounded up to the microsecond, so
rounding only ever adds debt (at most 1 µs per write). A full bucket has no key at all: the key
expires (PX) when the debt has run out, so idle identities cost nothing and no cleanup job exists.

A request passes iff every bucket holds at least its cost; then each pays its cost. Otherwise
nothing is written: a denial consumes nothing.

Time is Redis's own (TIME), so app instances with skewed clocks agree. Calling TIME before
writes is safe since Redis 5: scripts replicate their effects, not the script.
A clock that steps back (failover) shows as added debt, capped at an empty bucket: it can deny
for as long as the step, never admit more.
Lua numbers become integers in the reply (truncated), so the script rounds them itself.

KEYS[i]          bucket key; all keys of one call share a {hash tag}, so Cluster accepts the call
ARGV[1]          '1' to consume, '0' to peek (judge cost without writing), '2' to consume and
                 lease: take up to `extra` more whole tokens from each bucket, as far as it holds
                 them after the cost, for the caller to spend locally
ARGV[2 + S(i-1)] capacity of bucket i, in tokens (S, the stride, is 3; 4 when leasing)
ARGV[3 + S(i-1)] us_per_token of bucket i: microseconds for one token to return
ARGV[4 + S(i-1)] cost of this request for bucket i, in tokens
ARGV[5 + S(i-1)] when leasing: extra tokens wanted from bucket i

Reply: per bucket, S integers:
  remaining       whole tokens left after this decision
  reset_ms        milliseconds until the bucket is full again
  retry_after_ms  0 if this bucket alone would pass; -1 if cost > capacity (never);
                  else milliseconds until it holds the cost
  granted         when leasing: extra tokens taken (0 unless the request passed)
]]
local TOLERANCE_TOKENS = 1e-6 -- absorbs float rounding in sums of us_per_token, never accumulates

local mode = ARGV[1]
local consume = mode ~= '0'
local stride = mode == '2' and 4 or 3
local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local bucket_count = #KEYS
local needs = {}
local reply = {}
local all_pass = true

for i = 1, bucket_count do
  local at = stride * (i - 1)
  local capacity = tonumber(ARGV[at + 2])
  local us_per_token = tonumber(ARGV[at + 3])
  local cost = tonumber(ARGV[at + 4])

  local max_debt_us = capacity * us_per_token
  local debt_us = 0
  local full_at_us = tonumber(redis.call('GET', KEYS[i]))
  if full_at_us then
    debt_us = full_at_us - now_us
    if debt_us < 0 then debt_us = 0 elseif debt_us > max_debt_us then debt_us = max_debt_us end
  end

  local need_us = debt_us + cost * us_per_token
  local retry_after_ms = 0
  if cost > capacity then
    retry_after_ms = -1
  elseif need_us > max_debt_us + TOLERANCE_TOKENS * us_per_token then
    retry_after_ms = math.ceil((need_us - max_debt_us) / 1000)
  end
  if retry_after_ms ~= 0 then all_pass = false end

  needs[i] = need_us
  reply[at + 1] = debt_us
  reply[at + 2] = max_debt_us
  reply[at + 3] = retry_after_ms
end

for i = 1, bucket_count do
  local at = stride * (i - 1)
  local us_per_token = tonumber(ARGV[at + 3])
  local debt_us = reply[at + 1]
  local max_debt_us = reply[at + 2]
  local granted = 0
  if all_pass and consume then
    local need_us = needs[i]
    if stride == 4 then
      local spare = math.floor((max_debt_us - need_us) / us_per_token + TOLERANCE_TOKENS)
      granted = math.max(0, math.min(tonumber(ARGV[at + 5]), spare))
      need_us = need_us + granted * us_per_token
    end
    if need_us > debt_us then
      debt_us = math.ceil(need_us) -- before adding now_us, whose magnitude would cost precision
      local full_at_us = now_us + debt_us
      redis.call('SET', KEYS[i], full_at_us, 'PX', math.ceil(debt_us / 1000))
    end
  end
  local remaining = math.floor((max_debt_us - debt_us) / us_per_token + TOLERANCE_TOKENS)
  if remaining < 0 then remaining = 0 end
  reply[at + 1] = remaining
  reply[at + 2] = math.ceil(debt_us / 1000)
  if stride == 4 then reply[at + 4] = granted end
end

return reply
