ALTER TABLE `conversations` ADD `stored_bytes` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `metadata` text;--> statement-breakpoint
UPDATE `conversations` SET `stored_bytes` = (SELECT coalesce(sum(length(CAST(`messages`.`parts` AS BLOB))), 0) FROM `messages` WHERE `messages`.`conversation_id` = `conversations`.`id`);
