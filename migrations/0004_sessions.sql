ALTER TABLE `users` ADD `session_generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `refresh_tokens_user_idx` ON `refresh_tokens` (`user_id`);
