-- Finding a conversation's events by correlation id (operations, the live
-- actors page) without scanning the events table.
CREATE INDEX events_correlation ON {{schema}}.events (correlation_id) WHERE correlation_id IS NOT NULL;
