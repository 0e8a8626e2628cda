ALTER TABLE `conversations` ADD `current_leaf_id` text;--> statement-breakpoint
ALTER TABLE `conversations` ADD `title_source` text;--> statement-breakpoint
UPDATE `conversations` SET `current_leaf_id` = (SELECT `id` FROM `messages` WHERE `messages`.`conversation_id` = `conversations`.`id` ORDER BY `id` DESC LIMIT 1);--> statement-breakpoint
UPDATE `conversations` SET `title_source` = 'user' WHERE `title` IS NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_parent_idx` ON `messages` (`conversation_id`,`parent_id`);--> statement-breakpoint
CREATE TABLE `search_documents` (
	`id` integer PRIMARY KEY NOT NULL,
	`conversation_id` text NOT NULL,
	`message_id` text
);--> statement-breakpoint
CREATE UNIQUE INDEX `search_documents_message_idx` ON `search_documents` (`message_id`);--> statement-breakpoint
CREATE INDEX `search_documents_conversation_idx` ON `search_documents` (`conversation_id`,`message_id`);--> statement-breakpoint
CREATE VIRTUAL TABLE `search_index` USING fts5(`body`, tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M* So Cf'");--> statement-breakpoint
CREATE TRIGGER `messages_search_insert` AFTER INSERT ON `messages` WHEN new.`status` != 'streaming' BEGIN
	INSERT INTO `search_documents` (`conversation_id`, `message_id`) VALUES (new.`conversation_id`, new.`id`);
	INSERT INTO `search_index` (`rowid`, `body`) VALUES (
		(SELECT `id` FROM `search_documents` WHERE `message_id` = new.`id`),
		(SELECT group_concat(json_extract(p.value, '$.text'), char(10)) FROM json_each(new.`parts`) p WHERE json_extract(p.value, '$.type') = 'text'));
END;--> statement-breakpoint
CREATE TRIGGER `messages_search_update` AFTER UPDATE OF `parts`, `status` ON `messages` WHEN new.`status` != 'streaming' BEGIN
	DELETE FROM `search_index` WHERE `rowid` = (SELECT `id` FROM `search_documents` WHERE `message_id` = old.`id`);
	DELETE FROM `search_documents` WHERE `message_id` = old.`id`;
	INSERT INTO `search_documents` (`conversation_id`, `message_id`) VALUES (new.`conversation_id`, new.`id`);
	INSERT INTO `search_index` (`rowid`, `body`) VALUES (
		(SELECT `id` FROM `search_documents` WHERE `message_id` = new.`id`),
		(SELECT group_concat(json_extract(p.value, '$.text'), char(10)) FROM json_each(new.`parts`) p WHERE json_extract(p.value, '$.type') = 'text'));
END;--> statement-breakpoint
CREATE TRIGGER `messages_search_delete` AFTER DELETE ON `messages` BEGIN
	DELETE FROM `search_index` WHERE `rowid` = (SELECT `id` FROM `search_documents` WHERE `message_id` = old.`id`);
	DELETE FROM `search_documents` WHERE `message_id` = old.`id`;
END;--> statement-breakpoint
CREATE TRIGGER `conversations_search_insert` AFTER INSERT ON `conversations` WHEN new.`title` IS NOT NULL BEGIN
	INSERT INTO `search_documents` (`conversation_id`, `message_id`) VALUES (new.`id`, NULL);
	INSERT INTO `search_index` (`rowid`, `body`) VALUES (last_insert_rowid(), new.`title`);
END;--> statement-breakpoint
CREATE TRIGGER `conversations_search_update` AFTER UPDATE OF `title` ON `conversations` WHEN new.`title` IS NOT old.`title` BEGIN
	DELETE FROM `search_index` WHERE `rowid` = (SELECT `id` FROM `search_documents` WHERE `conversation_id` = old.`id` AND `message_id` IS NULL);
	DELETE FROM `search_documents` WHERE `conversation_id` = old.`id` AND `message_id` IS NULL;
	INSERT INTO `search_documents` (`conversation_id`, `message_id`) SELECT new.`id`, NULL WHERE new.`title` IS NOT NULL;
	INSERT INTO `search_index` (`rowid`, `body`) SELECT last_insert_rowid(), new.`title` WHERE new.`title` IS NOT NULL;
END;--> statement-breakpoint
CREATE TRIGGER `conversations_search_delete` AFTER DELETE ON `conversations` BEGIN
	DELETE FROM `search_index` WHERE `rowid` IN (SELECT `id` FROM `search_documents` WHERE `conversation_id` = old.`id`);
	DELETE FROM `search_documents` WHERE `conversation_id` = old.`id`;
END;--> statement-breakpoint
INSERT INTO `search_documents` (`conversation_id`, `message_id`) SELECT `id`, NULL FROM `conversations` WHERE `title` IS NOT NULL;--> statement-breakpoint
INSERT INTO `search_documents` (`conversation_id`, `message_id`) SELECT `conversation_id`, `id` FROM `messages` WHERE `status` != 'streaming' ORDER BY `id`;--> statement-breakpoint
INSERT INTO `search_index` (`rowid`, `body`) SELECT d.`id`, c.`title` FROM `search_documents` d JOIN `conversations` c ON c.`id` = d.`conversation_id` WHERE d.`message_id` IS NULL;--> statement-breakpoint
INSERT INTO `search_index` (`rowid`, `body`) SELECT d.`id`, (SELECT group_concat(json_extract(p.value, '$.text'), char(10)) FROM json_each(m.`parts`) p WHERE json_extract(p.value, '$.type') = 'text') FROM `search_documents` d JOIN `messages` m ON m.`id` = d.`message_id`;
--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`user_id` text NOT NULL,
	`conversation_id` text,
	`name` text NOT NULL,
	`media_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`workspace_id`) REFERENCES `workspaces`(`id`) ON UPDATE no action ON DELETE cascade
);--> statement-breakpoint
CREATE INDEX `files_workspace_idx` ON `files` (`workspace_id`);--> statement-breakpoint
CREATE INDEX `files_conversation_idx` ON `files` (`conversation_id`);--> statement-breakpoint
CREATE INDEX `files_sha256_idx` ON `files` (`sha256`);
