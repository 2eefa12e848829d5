CREATE TABLE `signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`alg` text NOT NULL,
	`public_x` text NOT NULL,
	`sealed_private_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`publish_at` integer NOT NULL,
	`sign_from` integer NOT NULL,
	`sign_until` integer NOT NULL,
	`published_until` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE INDEX `signing_keys_sign_from_idx` ON `signing_keys` (`sign_from`);