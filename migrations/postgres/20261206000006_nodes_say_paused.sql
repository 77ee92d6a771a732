-- Whether each node had seen the cluster-wide pause at its last heartbeat:
-- operators see a pause take hold node by node.
ALTER TABLE nodes ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE;
