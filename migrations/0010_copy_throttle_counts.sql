-- The live counters move onto the users row (migration 0008): each account's
-- `otp:<id>` and `pwd:<username key>` throttle rows are copied as they stand, a
-- factor lock (100 failures) and a lock in force included, so no account is
-- unlocked by the deploy. The old rows stay (the code that runs until the new
-- one is deployed still reads them) and are never read again; the cron prunes
-- the idle ones. Counts the old code adds between this migration and the
-- deploy are not copied: apply it just before `wrangler deploy`.
UPDATE users SET
  otp_failures = (SELECT failures FROM throttles WHERE key = 'otp:' || users.id),
  otp_locked_until = (SELECT locked_until FROM throttles WHERE key = 'otp:' || users.id),
  otp_updated_at = (SELECT updated_at FROM throttles WHERE key = 'otp:' || users.id)
WHERE EXISTS (SELECT 1 FROM throttles WHERE key = 'otp:' || users.id);
--> statement-breakpoint
UPDATE users SET
  pwd_failures = (SELECT failures FROM throttles WHERE key = 'pwd:' || users.username_key),
  pwd_locked_until = (SELECT locked_until FROM throttles WHERE key = 'pwd:' || users.username_key),
  pwd_updated_at = (SELECT updated_at FROM throttles WHERE key = 'pwd:' || users.username_key)
WHERE EXISTS (SELECT 1 FROM throttles WHERE key = 'pwd:' || users.username_key);
