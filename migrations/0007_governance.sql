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
--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`subject` text NOT NULL,
	`day` integer NOT NULL,
	`cost_pico_usd` integer NOT NULL,
	`tokens` integer NOT NULL,
	PRIMARY KEY(`subject`, `day`)
);
--> statement-breakpoint
CREATE TRIGGER `usage_records_daily` AFTER INSERT ON `usage_records` BEGIN
	INSERT INTO `usage_daily` (`subject`, `day`, `cost_pico_usd`, `tokens`)
	SELECT 'ws:' || NEW.workspace_id, NEW.created_at / 86400000, NEW.cost_pico_usd, NEW.input_tokens + NEW.output_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens
	UNION ALL SELECT 'member:' || NEW.workspace_id || ':' || NEW.user_id, NEW.created_at / 86400000, NEW.cost_pico_usd, NEW.input_tokens + NEW.output_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens
	UNION ALL SELECT 'key:' || NEW.api_key_id, NEW.created_at / 86400000, NEW.cost_pico_usd, NEW.input_tokens + NEW.output_tokens + NEW.cache_read_tokens + NEW.cache_write_tokens WHERE NEW.api_key_id IS NOT NULL
	ON CONFLICT (`subject`, `day`) DO UPDATE SET `cost_pico_usd` = `cost_pico_usd` + excluded.`cost_pico_usd`, `tokens` = `tokens` + excluded.`tokens`;
END;
