ALTER TABLE `oidc_codes` ADD `acr` text;--> statement-breakpoint
ALTER TABLE `oidc_grants` ADD `logout_sent_at` integer;--> statement-breakpoint
CREATE INDEX `oidc_grants_user_idx` ON `oidc_grants` (`user_id`);