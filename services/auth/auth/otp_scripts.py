"""The Lua scripts behind OTP limits and challenge state: each decision is one atomic step.

Time comes from Redis (``TIME``), so every replica shares one clock. GCRA limiters store the
"theoretical arrival time" in ms. Keys derived from a challenge's phone hash (the per-phone
lock and cooldown) are built inside the scripts from ``ARGV`` prefixes: the deployment uses a
single Redis primary (not Redis Cluster), where that is safe.
"""

from __future__ import annotations

_PRELUDE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function gcra(key, emission, burst)
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local new_tat = tat + emission
  local wait = new_tat - emission * burst - now
  if wait > 0 then return wait, tat end
  return 0, new_tat
end
local function commit(key, tat)
  redis.call('SET', key, tat, 'PX', math.max(1, tat - now))
end
"""

# KEYS: ip, day, cooldown, streak, budget, lock (the phone's verification lock: no SMS while set)
# ARGV: ip_emission_ms, ip_burst, day_cap, streak_window_ms, budget_emission_ms, budget_burst,
#       cooldown_ms...
BEGIN_SEND = (
    _PRELUDE
    + """
local ip_wait, ip_tat = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if ip_wait > 0 then return {'rate_limited', ip_wait} end
commit(KEYS[1], ip_tat)
local locked = redis.call('PTTL', KEYS[6])
if locked > 0 then return {'locked', locked} end
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if day >= tonumber(ARGV[3]) then
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then ttl = 86400000 end
  return {'send_limit', ttl}
end
local cooldown = redis.call('PTTL', KEYS[3])
if cooldown > 0 then return {'cooldown', cooldown} end
local b_wait, b_tat = gcra(KEYS[5], tonumber(ARGV[5]), tonumber(ARGV[6]))
if b_wait > 0 then return {'budget', b_wait} end
commit(KEYS[5], b_tat)
if redis.call('INCR', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], 86400000) end
local streak = redis.call('INCR', KEYS[4])
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[4]))
local steps = #ARGV - 6
local next_cooldown = tonumber(ARGV[6 + math.min(streak, steps)])
redis.call('SET', KEYS[3], '1', 'PX', next_cooldown)
return {'ok', next_cooldown}
"""
)

# KEYS: day, cooldown, streak, budget; ARGV: budget_emission_ms
REFUND_SEND = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
if tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
redis.call('DEL', KEYS[2])
local tat = tonumber(redis.call('GET', KEYS[4]) or '0')
if tat > 0 then
  redis.call('SET', KEYS[4], tat - tonumber(ARGV[1]), 'KEEPTTL')
end
return 1
"""

# KEYS: current; ARGV: challenge key prefix
# -> {id, status, remaining_ms, attempts} or {}
LIVE_CHALLENGE = (
    _PRELUDE
    + """
local id = redis.call('GET', KEYS[1])
if not id then return {} end
local f = redis.call('HMGET', ARGV[1] .. id, 'st', 'exp', 'att')
if not f[1] then return {} end
return {id, f[1], tonumber(f[2]) - now, tonumber(f[3])}
"""
)

# KEYS: challenge, current; ARGV: id, ph, vs, pe, pk, ttl_ms, retention_ms -> expires_at_ms
CREATE_CHALLENGE = (
    _PRELUDE
    + """
local exp = now + tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'st', 'pending', 'exp', exp, 'att', 0, 'ph', ARGV[2],
  'vs', ARGV[3], 'pe', ARGV[4], 'pk', ARGV[5])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]) + tonumber(ARGV[7]))
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[6]))
return exp
"""
)

# KEYS: challenge, ip; ARGV: ip_emission_ms, ip_burst, max_attempts, phone key prefix
BEGIN_VERIFY = (
    _PRELUDE
    + """
local wait, tat = gcra(KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then return {'rate_limited', wait} end
commit(KEYS[2], tat)
local f = redis.call('HMGET', KEYS[1], 'st', 'exp', 'att', 'ph', 'vs', 'pe', 'pk')
if not f[1] then return {'not_found', 0} end
if f[1] == 'approved' then return {'already_used', 0} end
if f[1] == 'spent' or tonumber(f[2]) <= now then return {'expired', 0} end
local phone = ARGV[4] .. f[4]
local lock = redis.call('PTTL', phone .. ':lock')
if lock > 0 then return {'locked', lock} end
if f[1] == 'exhausted' or tonumber(f[3]) >= tonumber(ARGV[3]) then
  return {'max_attempts', math.max(0, redis.call('PTTL', phone .. ':cooldown'))}
end
local att = redis.call('HINCRBY', KEYS[1], 'att', 1)
return {'ok', att, f[4], f[5], f[6], f[7], tonumber(f[2]) - now}
"""
)

# KEYS: challenge, fails, lock, current, cooldown
# ARGV: id, max_attempts, fail_window_ms, fail_threshold, lock_ms
WRONG_CODE = """
local fails = redis.call('INCR', KEYS[2])
if fails == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3])) end
local att = tonumber(redis.call('HGET', KEYS[1], 'att') or '0')
local remaining = math.max(0, tonumber(ARGV[2]) - att)
local function close_challenge()
  redis.call('HSET', KEYS[1], 'st', 'exhausted')
  if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
end
if fails >= tonumber(ARGV[4]) then
  redis.call('SET', KEYS[3], '1', 'PX', tonumber(ARGV[5]))
  redis.call('DEL', KEYS[2])
  close_challenge()
  return {'locked', tonumber(ARGV[5])}
end
if remaining == 0 then
  close_challenge()
  return {'max_attempts', math.max(0, redis.call('PTTL', KEYS[5]))}
end
return {'invalid', remaining}
"""

# KEYS: challenge, fails, current; ARGV: id -> 1 approved now, 0 already approved
APPROVED = """
if redis.call('HGET', KEYS[1], 'st') == 'approved' then return 0 end
redis.call('HSET', KEYS[1], 'st', 'approved')
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
return 1
"""

# KEYS: challenge
REFUND_ATTEMPT = """
local att = tonumber(redis.call('HGET', KEYS[1], 'att') or '0')
if att > 0 and redis.call('HGET', KEYS[1], 'st') == 'pending' then
  redis.call('HINCRBY', KEYS[1], 'att', -1)
end
return 1
"""

# KEYS: challenge, current; ARGV: id (the provider says no more checks: 60202)
EXHAUST = """
if redis.call('HGET', KEYS[1], 'st') == 'pending' then
  redis.call('HSET', KEYS[1], 'st', 'exhausted')
end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: limiter; ARGV: emission_ms, burst -> 0 allowed (counted) or ms to wait
GCRA_ONLY = (
    _PRELUDE
    + """
local wait, tat = gcra(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
if wait > 0 then return wait end
commit(KEYS[1], tat)
return 0
"""
)

# KEYS: challenge -- approved by the provider, but no tokens were issued: the code is spent
MARK_SPENT = """
if redis.call('HGET', KEYS[1], 'st') == 'approved' then
  redis.call('HSET', KEYS[1], 'st', 'spent')
end
return 1
"""

# KEYS: challenge; ARGV: digest of the code whose check got no answer (kept on a live challenge)
NOTE_UNANSWERED = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'uc', ARGV[1]) end
return 1
"""
