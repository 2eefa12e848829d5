CREATE TABLE `webauthn_signin_spent` (
	`challenge_id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `webauthn_signin_spent_expires_idx` ON `webauthn_signin_spent` (`expires_at`);--> statement-breakpoint
ALTER TABLE `sessions` ADD `acr` text;--> statement-breakpoint
ALTER TABLE `webauthn_credentials` ADD `passwordless` integer DEFAULT false NOT NULL;