CREATE TABLE `search_queue` (
	`message_id` text PRIMARY KEY NOT NULL
) WITHOUT ROWID;--> statement-breakpoint
DROP TRIGGER `messages_search_insert`;--> statement-breakpoint
DROP TRIGGER `messages_search_update`;--> statement-breakpoint
DROP TRIGGER `messages_search_delete`;--> statement-breakpoint
CREATE TRIGGER `messages_search_insert` AFTER INSERT ON `messages` WHEN new.`status` != 'streaming' BEGIN
	INSERT OR IGNORE INTO `search_queue` (`message_id`) VALUES (new.`id`);
END;--> statement-breakpoint
CREATE TRIGGER `messages_search_update` AFTER UPDATE OF `parts`, `status` ON `messages` WHEN new.`status` != 'streaming' BEGIN
	INSERT OR IGNORE INTO `search_queue` (`message_id`) VALUES (new.`id`);
END;--> statement-breakpoint
CREATE TRIGGER `messages_search_delete` AFTER DELETE ON `messages` BEGIN
	DELETE FROM `search_queue` WHERE `message_id` = old.`id`;
	DELETE FROM `search_index` WHERE `rowid` = (SELECT `id` FROM `search_documents` WHERE `message_id` = old.`id`);
	DELETE FROM `search_documents` WHERE `message_id` = old.`id`;
END;
