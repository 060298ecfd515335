-- Mail in the dev mailbox belongs to the tenancy whose subscription it was sent for, and to
-- that subscription's topic: the mailbox API shows a caller only their tenancy's mail, filtered
-- by the topics their policies let them read. Mail captured before this has no owner and is shown to no one.
ALTER TABLE mailbox ADD COLUMN tenancy_id TEXT NOT NULL DEFAULT '';
ALTER TABLE mailbox ADD COLUMN topic_id TEXT NOT NULL DEFAULT '';
CREATE INDEX mailbox_tenancy ON mailbox (tenancy_id, created_at);
