-- The voicemail inbox's "handled" state: when someone at the business dealt with a voicemail (called
-- back, booked, ignored on purpose). NULL: new. Set and cleared through the recordings feature
-- (`PATCH /api/telephony/voicemails/{id}`, the console's Mark handled / Mark new).
ALTER TABLE recordings ADD COLUMN handled_at BIGINT;

-- A conversation's texts that have not reached Twilio yet (queued, or failed before it accepted them)
-- are read by tenant and recipient, newest first (`db::notifications::unsent_to`).
CREATE INDEX notifications_by_recipient ON notifications (tenant_id, recipient, created_at);
