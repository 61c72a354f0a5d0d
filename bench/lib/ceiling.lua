-- The ceiling: the least a Redis token bucket can do. One key, one GET, one SET on admit.
-- KEYS[1] bucket; ARGV[1] capacity; ARGV[2] milliseconds per token.
local capacity = tonumber(ARGV[1])
local ms_per_token = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local tokens = capacity
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ':', 1, true)
  tokens = tonumber(string.sub(v, 1, sep - 1)) + (now - tonumber(string.sub(v, sep + 1))) / ms_per_token
  if tokens > capacity then tokens = capacity end
end
if tokens < 1 then return 0 end
tokens = tokens - 1
redis.call('SET', KEYS[1], tokens .. ':' .. now, 'PX', math.ceil((capacity - tokens) * ms_per_token) + 1)
return 1
