--[[
Judges decisions, each over N buckets in one atomic step, all-or-nothing, whatever algorithm each
bucket uses; a call carries one decision or a batch of them (the Redis store sends the decisions
of one event-loop turn together: stores/take-batch.ts), judged one after another at one instant.

Prepended by algorithms/bucket-script.ts: `local ALGORITHMS = {}` and each registered
algorithm's Lua, which sets ALGORITHMS[code] = { check, settle, refund }:
  check(key, capacity, param, cost, now_us) -> retry_after_ms, a, b
    writes nothing; a and b are the algorithm's own (numbers or a table), handed to settle
  settle(key, capacity, param, cost, a, b, write, extra, now_us) -> remaining, reset_ms, granted
    writes only when `write` (every bucket passed and the mode consumes)
  refund(key, capacity, param, tokens, now_us) -> remaining, reset_ms

A decision passes iff every bucket holds its cost (every check says retry_after_ms = 0); then each
bucket pays its cost (settle with write). Otherwise nothing is written: a denial consumes nothing.

Time is Redis's own (TIME, once per call), so app instances with skewed clocks agree. Calling
TIME before writes is safe since Redis 5: scripts replicate their effects, not the script.
Lua numbers become integers in the reply (truncated), so the algorithms round them themselves.

ARGV[1]          D, the number of decisions; then per decision, its key count K and argument
                 count A, then its A arguments; KEYS holds the decisions' keys in turn, K each.
A decision's own keys and arguments (indices relative to its own):
KEYS[i]          bucket key; all keys of one call share a {hash tag}, so Cluster accepts the call
KEYS[N + i]      when K = 2N: bucket i's block key, a hash of block ends in microseconds of
                 Redis time: field '*' blocks every limit of the identity, field KEYS[i] this
                 bucket only. A blocked bucket is denied (nothing written, remaining 0) with a
                 retry and a reset of at least the block's remaining time.
ARGV[1]          '0' peek (judge without writing), '1' consume, '2' consume and lease (take up to
                 `extra` more whole tokens from each bucket for the caller to spend locally),
                 '3' refund (give `cost` tokens back to each bucket; no block keys)
then per bucket, S arguments (S, the stride, is 4; 5 when leasing), so N = (A - 1) / S:
  algorithm      its code in ALGORITHMS
  capacity       in tokens
  param          the algorithm's parameter (token bucket: microseconds per token)
  cost           tokens this request takes (refund: gives back)
  extra          when leasing: extra tokens wanted

Reply: per decision, its length L, then L integers; or -1 then the error's text when judging it
met a key of another type (WRONGTYPE) or a command this Redis lacks ("Unknown Redis command"):
that decision fails alone, the others of the batch stand.
Any other error fails the whole call with that error.
Per bucket, R integers (R is 3; 4 when leasing; one more when block keys were given):
  remaining       whole tokens left after this decision
  reset_ms        milliseconds until the bucket is full again
  retry_after_ms  0 if this bucket alone would pass; -1 if its cost exceeds its capacity; else
                  milliseconds until it would (always 0 for a refund)
  granted         when leasing: extra tokens taken (0 unless the request passed)
  blocked_ms      when block keys were given: milliseconds the bucket stays blocked (0: none)
]]

-- One decision, its keys at KEYS[k + 1 .. k + key_count] and its arguments at
-- ARGV[a + 1 .. a + arg_count]; returns its reply (a table of integers).
local function judge(k, key_count, a, arg_count, now_us)
  local mode = ARGV[a + 1]
  local leasing = mode == '2'
  local stride = leasing and 5 or 4
  local bucket_count = (arg_count - 1) / stride
  local reply = {}

  if mode == '3' then
    for i = 1, bucket_count do
      local at = a + 4 * (i - 1) + 1
      local algorithm = ALGORITHMS[tonumber(ARGV[at + 1])]
      local remaining, reset_ms = algorithm.refund(KEYS[k + i], tonumber(ARGV[at + 2]),
        tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), now_us)
      reply[3 * i - 2] = remaining
      reply[3 * i - 1] = reset_ms
      reply[3 * i] = 0
    end
    return reply
  end

  local blocks = key_count == 2 * bucket_count
  local width = (leasing and 4 or 3) + (blocks and 1 or 0)
  local state_a, state_b = {}, {}
  local blocked_ms = blocks and {} or nil
  local all_pass = true

  for i = 1, bucket_count do
    local at = a + stride * (i - 1) + 1
    local algorithm = ALGORITHMS[tonumber(ARGV[at + 1])]
    local retry_after_ms, sa, sb = algorithm.check(KEYS[k + i], tonumber(ARGV[at + 2]),
      tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), now_us)
    if blocks then
      blocked_ms[i] = 0
      local ends = redis.call('HMGET', KEYS[k + bucket_count + i], '*', KEYS[k + i])
      local until_us = math.max(tonumber(ends[1]) or 0, tonumber(ends[2]) or 0)
      if until_us > now_us then
        blocked_ms[i] = math.ceil((until_us - now_us) / 1000)
        if retry_after_ms >= 0 and retry_after_ms < blocked_ms[i] then
          retry_after_ms = blocked_ms[i]
        end
      end
    end
    if retry_after_ms ~= 0 then all_pass = false end
    reply[width * (i - 1) + 3] = retry_after_ms
    state_a[i] = sa
    state_b[i] = sb
  end

  local write = all_pass and mode ~= '0'
  for i = 1, bucket_count do
    local at = a + stride * (i - 1) + 1
    local algorithm = ALGORITHMS[tonumber(ARGV[at + 1])]
    local extra = 0
    if leasing then extra = tonumber(ARGV[at + 5]) end
    local remaining, reset_ms, granted = algorithm.settle(KEYS[k + i], tonumber(ARGV[at + 2]),
      tonumber(ARGV[at + 3]), tonumber(ARGV[at + 4]), state_a[i], state_b[i], write, extra, now_us)
    local out = width * (i - 1)
    reply[out + 1] = remaining
    reply[out + 2] = reset_ms
    if leasing then reply[out + 4] = granted end
    if blocks then
      if blocked_ms[i] > 0 then
        reply[out + 1] = 0
        if reset_ms < blocked_ms[i] then reply[out + 2] = blocked_ms[i] end
      end
      reply[out + width] = blocked_ms[i]
    end
  end
  return reply
end

-- How Redis (6 and 7) words a script's call of a command it does not have.
local UNKNOWN_COMMAND = 'Unknown Redis command called from'

-- An error raised by redis.call is a table with `err` (Redis 7); anything else, as text.
local function error_text(failure)
  if type(failure) == 'table' and failure.err then return failure.err end
  return tostring(failure)
end

local clock = redis.call('TIME')
local now_us = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local out = {}
local k, a = 0, 1
for _ = 1, tonumber(ARGV[1]) do
  local key_count, arg_count = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 2
  local ok, reply = pcall(judge, k, key_count, a, arg_count, now_us)
  if ok then
    out[#out + 1] = #reply
    for i = 1, #reply do out[#out + 1] = reply[i] end
  else
    local text = error_text(reply)
    -- A key of another type, or a command this server lacks (an algorithm that needs a newer
    -- Redis), is that decision's alone (both raised by a read, before it wrote): the others of
    -- the batch stand. Any other error is the server's (READONLY after a failover, OOM, both
    -- raised by a call's first write, so nothing was written) and fails the call, as it would
    -- fail a call of its own: the client sees the error and acts on it (a READONLY reconnects
    -- through the sentinel).
    local alone = string.sub(text, 1, 9) == 'WRONGTYPE'
      or string.find(text, UNKNOWN_COMMAND, 1, true) ~= nil
    if not alone then return redis.error_reply(text) end
    out[#out + 1] = -1
    out[#out + 1] = text
  end
  k = k + key_count
  a = a + arg_count
end
return out
