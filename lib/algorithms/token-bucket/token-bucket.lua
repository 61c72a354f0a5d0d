--[[
Token bucket: the functions of ALGORITHMS[1], called by algorithms/bucket-script.lua.

Each bucket is judged by its "debt": the microseconds it needs to be full again; a bucket holds
capacity - debt / us_per_token tokens. The value stored is one integer, the Redis time in
microseconds at which the bucket is full again (debt = full_at - now), which Redis keeps as an
integer inside the key's object: no string allocated. A full bucket has no key at all: the key
expires (PX) when the debt has run out, so idle identities cost nothing and no cleanup job exists.

us_per_token is a whole number (options/resolve-limits.ts rounds it up), so with whole costs every
debt is a whole number of microseconds and nothing is ever rounded: no drift across writes. A
fractional cost's debt is rounded up to the microsecond when written, which only adds debt.

A clock that steps back (failover) shows as added debt, capped at an empty bucket: it can deny
for as long as the step, never admit more.

check(key, capacity, us_per_token, cost, now_us) -> retry_after_ms, debt_us, need_us
  retry_after_ms  0 if this bucket holds the cost; -1 if cost > capacity (never); else ms until it does
settle(key, capacity, us_per_token, cost, debt_us, need_us, write, extra, now_us)
  -> remaining, reset_ms, granted
  write: every bucket of the request passed and it consumes; extra: tokens to lease on top of the
  cost, as far as the bucket holds them after it
refund(key, capacity, us_per_token, tokens, now_us) -> remaining, reset_ms
]]
local TOLERANCE_TOKENS = 1e-6 -- absorbs float rounding of fractional costs, never accumulates

local token_bucket = {}

function token_bucket.check(key, capacity, us_per_token, cost, now_us)
  local max_debt_us = capacity * us_per_token
  local debt_us = 0
  local full_at_us = tonumber(redis.call('GET', key))
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
  return retry_after_ms, debt_us, need_us
end

function token_bucket.settle(key, capacity, us_per_token, _, debt_us, need_us, write, extra, now_us)
  local max_debt_us = capacity * us_per_token
  local granted = 0
  if write then
    if extra > 0 then
      local spare = math.floor((max_debt_us - need_us) / us_per_token + TOLERANCE_TOKENS)
      granted = math.max(0, math.min(extra, spare))
      need_us = need_us + granted * us_per_token
    end
    if need_us > debt_us then
      debt_us = math.ceil(need_us) -- before adding now_us, whose magnitude would cost precision
      redis.call('SET', key, now_us + debt_us, 'PX', math.ceil(debt_us / 1000))
    end
  end
  local remaining = math.floor((max_debt_us - debt_us) / us_per_token + TOLERANCE_TOKENS)
  if remaining < 0 then remaining = 0 end
  return remaining, math.ceil(debt_us / 1000), granted
end

function token_bucket.refund(key, capacity, us_per_token, tokens, now_us)
  local debt_us = 0
  local full_at_us = tonumber(redis.call('GET', key))
  if full_at_us then
    debt_us = math.min(full_at_us - now_us, capacity * us_per_token) - tokens * us_per_token
    if debt_us <= 0 then
      debt_us = 0
      redis.call('DEL', key)
    else
      debt_us = math.ceil(debt_us)
      redis.call('SET', key, now_us + debt_us, 'PX', math.ceil(debt_us / 1000))
    end
  end
  local remaining = math.floor((capacity * us_per_token - debt_us) / us_per_token + TOLERANCE_TOKENS)
  if remaining < 0 then remaining = 0 end
  return remaining, math.ceil(debt_us / 1000)
end

ALGORITHMS[1] = token_bucket
