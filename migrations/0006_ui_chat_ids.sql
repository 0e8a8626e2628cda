ALTER TABLE `conversations` ADD `client_chat_id` text;--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_client_chat_idx` ON `conversations` (`user_id`,`client_chat_id`);
