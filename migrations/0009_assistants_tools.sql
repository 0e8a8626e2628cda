CREATE TABLE `assistants` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`model_id` text,
	`system_prompt` text,
	`inference` text NOT NULL,
	`tools` text NOT NULL,
	`task` text DEFAULT 'chat' NOT NULL,
	`created_by` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE INDEX `assistants_workspace_idx` ON `assistants` (`workspace_id`,`id`);--> statement-breakpoint
CREATE TABLE `mcp_servers` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`name` text NOT NULL,
	`url` text NOT NULL,
	`headers` text,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `mcp_servers_workspace_name_idx` ON `mcp_servers` (`workspace_id`,`name`);--> statement-breakpoint
ALTER TABLE `conversations` ADD `inference` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `tools` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `task` text;
