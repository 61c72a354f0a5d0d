--[[
Gives tokens back to buckets that token-bucket.lua charged for a request that was then denied
elsewhere: on Redis Cluster the limits of one request may sit in several slots, which one script
call cannot span, so the store charges slot by slot and undoes the charges of a later denial.

Same value format as token-bucket.lua: the integer Redis time in µs at which the bucket is full,
PX = time to full. The debt is brought to now, reduced by tokens * us_per_token and floored at 0;
a bucket with no debt left is deleted (full). A bucket with no key is full already: nothing to
give back. Used for Cluster requests spanning slots and for leased tokens that were not spent.

KEYS[i]          bucket key; all keys of one call share a {hash tag}
ARGV[3i - 2]     capacity of bucket i, in tokens
ARGV[3i - 1]     us_per_token of bucket i
ARGV[3i]         tokens to give back to bucket i

Reply: per bucket, two integers, as in token-bucket.lua:
  remaining       whole tokens in the bucket now
  reset_ms        milliseconds until the bucket is full again
]]
local TOLERANCE_TOKENS = 1e-6

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local reply = {}

for i = 1, #KEYS do
  local capacity = tonumber(ARGV[3 * i - 2])
  local us_per_token = tonumber(ARGV[3 * i - 1])
  local tokens = tonumber(ARGV[3 * i])
  local debt_us = 0
  local full_at_us = tonumber(redis.call('GET', KEYS[i]))
  if full_at_us then
    debt_us = math.min(full_at_us - now_us, capacity * us_per_token) - tokens * us_per_token
    if debt_us <= 0 then
      debt_us = 0
      redis.call('DEL', KEYS[i])
    else
      debt_us = math.ceil(debt_us)
      full_at_us = now_us + debt_us
      redis.call('SET', KEYS[i], full_at_us, 'PX', math.ceil(debt_us / 1000))
    end
  end
  local remaining = math.floor((capacity * us_per_token - debt_us) / us_per_token + TOLERANCE_TOKENS)
  if remaining < 0 then remaining = 0 end
  reply[2 * i - 1] = remaining
  reply[2 * i] = math.ceil(debt_us / 1000)
end

return reply
