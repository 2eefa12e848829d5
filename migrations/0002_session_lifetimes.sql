ALTER TABLE `sessions` ADD `auth_time` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `amr` text DEFAULT 'pwd' NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `rotated_at` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `last_used_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `user_agent` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `ip` text;