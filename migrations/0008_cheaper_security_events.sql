-- Rebuilt without AUTOINCREMENT, the unique index on id and the index on at: 2 rows
-- written per event instead of 5 (src/db/schema.ts). No foreign key names this table,
-- so no PRAGMA is needed (D1 keeps foreign keys on). seq values are kept as they are.
CREATE TABLE `__new_security_events` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`user_id` text NOT NULL,
	`type` text NOT NULL,
	`at` integer NOT NULL,
	`session_id` text,
	`user_agent` text,
	`ip` text,
	`reason` text
);
--> statement-breakpoint
INSERT INTO `__new_security_events`("seq", "id", "user_id", "type", "at", "session_id", "user_agent", "ip", "reason") SELECT "seq", "id", "user_id", "type", "at", "session_id", "user_agent", "ip", "reason" FROM `security_events`;--> statement-breakpoint
DROP TABLE `security_events`;--> statement-breakpoint
ALTER TABLE `__new_security_events` RENAME TO `security_events`;--> statement-breakpoint
CREATE INDEX `security_events_user_idx` ON `security_events` (`user_id`,`at`,`seq`);