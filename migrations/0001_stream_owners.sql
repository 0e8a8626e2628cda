CREATE TABLE `generation_logs` (
	`generation_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`last_event_id` integer NOT NULL,
	`events` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `generation_logs_expires_idx` ON `generation_logs` (`expires_at`);--> statement-breakpoint
CREATE TABLE `stream_owners` (
	`id` text PRIMARY KEY NOT NULL,
	`heartbeat_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `generations` ADD `owner_id` text;
