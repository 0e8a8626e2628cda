CREATE TABLE `usage_records` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`api_key_id` text,
	`conversation_id` text,
	`generation_id` text,
	`step` integer DEFAULT 0 NOT NULL,
	`model_id` text NOT NULL,
	`input_tokens` integer NOT NULL,
	`output_tokens` integer NOT NULL,
	`cache_read_tokens` integer NOT NULL,
	`cache_write_tokens` integer NOT NULL,
	`cost_pico_usd` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `usage_records_workspace_idx` ON `usage_records` (`workspace_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_records_member_idx` ON `usage_records` (`workspace_id`,`user_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `usage_records_api_key_idx` ON `usage_records` (`api_key_id`,`created_at`);--> statement-breakpoint
CREATE UNIQUE INDEX `usage_records_call_idx` ON `usage_records` (`generation_id`,`step`);--> statement-breakpoint
CREATE TABLE `workspace_limits` (
	`workspace_id` text PRIMARY KEY NOT NULL,
	`limits` text NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
