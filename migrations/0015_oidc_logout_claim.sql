ALTER TABLE `oidc_grants` ADD `logout_claimed_at` integer;--> statement-breakpoint
ALTER TABLE `oidc_grants` ADD `logout_attempts` integer DEFAULT 0 NOT NULL;