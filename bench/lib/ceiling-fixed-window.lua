-- The fixed window's ceiling: the least a Redis fixed window can do. One INCR; PEXPIRE only when
-- the INCR made the key (the window starts at its first hit, as rate-limiter-flexible's does).
-- KEYS[1] counter; ARGV[1] capacity; ARGV[2] window in milliseconds.
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return 0 end
return 1
