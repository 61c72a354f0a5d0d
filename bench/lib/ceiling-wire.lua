-- The fixed-window ceiling's work (INCR, PEXPIRE on the first hit) behind the library's wire: the
-- bucket script's arguments for one decision over one bucket (D = 1, K, A, mode, then algorithm,
-- capacity, window in microseconds, cost) and its reply (L = 3, then remaining, reset_ms,
-- retry_after_ms). bench/layers.mjs uses it to tell what the wire costs Node from what the
-- library's Lua and JavaScript cost.
local capacity = tonumber(ARGV[6])
local window_ms = tonumber(ARGV[7]) / 1000
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], window_ms) end
if count > capacity then return { 3, 0, window_ms, window_ms } end
return { 3, capacity - count, window_ms, 0 }
