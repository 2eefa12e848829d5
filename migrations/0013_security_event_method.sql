-- Which factor an event is about (RFC 8176 amr values: pwd, otp, pop, rec); null for older events and for events about no factor.
ALTER TABLE `security_events` ADD `method` text;