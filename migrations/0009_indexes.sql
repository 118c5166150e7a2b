-- Appointment listings and reminder scans read a tenant's appointments by start time.
CREATE INDEX appointments_by_tenant_start ON appointments (tenant_id, starts_at);
-- calls_analytics (tenant_id, start_time, …) serves every query this one did: it is a prefix of it.
DROP INDEX calls_by_tenant_time;
