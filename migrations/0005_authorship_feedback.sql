CREATE TABLE `message_feedback` (
	`message_id` text NOT NULL,
	`user_id` text NOT NULL,
	`rating` text NOT NULL,
	`comment` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`message_id`, `user_id`),
	FOREIGN KEY (`message_id`) REFERENCES `messages`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `messages` ADD `user_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `api_key_id` text;--> statement-breakpoint
UPDATE `messages` SET `user_id` = `generations`.`user_id` FROM `generations` WHERE `generations`.`user_message_id` = `messages`.`id`;--> statement-breakpoint
UPDATE `messages` SET `user_id` = `generations`.`user_id` FROM `generations` WHERE `generations`.`assistant_message_id` = `messages`.`id`;--> statement-breakpoint
UPDATE `messages` SET `user_id` = `conversations`.`user_id` FROM `conversations` WHERE `conversations`.`id` = `messages`.`conversation_id` AND `messages`.`user_id` IS NULL;--> statement-breakpoint
INSERT INTO `message_feedback` (`message_id`, `user_id`, `rating`, `comment`, `created_at`, `updated_at`)
	SELECT `messages`.`id`, `conversations`.`user_id`, `messages`.`feedback_rating`, `messages`.`feedback_comment`, `messages`.`updated_at`, `messages`.`updated_at`
	FROM `messages` JOIN `conversations` ON `conversations`.`id` = `messages`.`conversation_id`
	WHERE `messages`.`feedback_rating` IS NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` DROP COLUMN `feedback_rating`;--> statement-breakpoint
ALTER TABLE `messages` DROP COLUMN `feedback_comment`;
