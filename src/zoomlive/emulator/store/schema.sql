-- The SQLite schema at the head of the Alembic migrations (store/migrations), for the memory
-- store, which makes a new database with it instead of running every migration. A test checks
-- it against what the migrations build; regenerate it when a migration is added.

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE accounts (
	id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	"plan" VARCHAR(16) NOT NULL, 
	webinar_addon BOOLEAN NOT NULL, 
	custom_live_streaming BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_accounts_plan CHECK (plan IN ('free', 'pro', 'business', 'enterprise'))
);

CREATE TABLE users (
	id VARCHAR(64) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	email VARCHAR(320) NOT NULL, 
	first_name VARCHAR(64) NOT NULL, 
	last_name VARCHAR(64) NOT NULL, 
	type INTEGER NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	UNIQUE (email)
);

CREATE INDEX ix_users_account_id ON users (account_id);

CREATE TABLE apps (
	client_id VARCHAR(128) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	secret_hash VARCHAR(256) NOT NULL, 
	scopes TEXT NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (client_id), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE INDEX ix_apps_account_id ON apps (account_id);

CREATE TABLE tokens (
	token_hash VARCHAR(64) NOT NULL, 
	client_id VARCHAR(128) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	scopes TEXT NOT NULL, 
	issued_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (token_hash), 
	FOREIGN KEY(client_id) REFERENCES apps (client_id) ON DELETE CASCADE
);

CREATE INDEX ix_tokens_client_id ON tokens (client_id);

CREATE INDEX ix_tokens_expires_at ON tokens (expires_at);

CREATE TABLE webinars (
	id BIGINT NOT NULL, 
	uuid VARCHAR(64) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	host_id VARCHAR(64) NOT NULL, 
	topic VARCHAR(200) NOT NULL, 
	type INTEGER NOT NULL, 
	start_time DATETIME, 
	duration INTEGER NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	agenda TEXT NOT NULL, 
	password VARCHAR(10) NOT NULL, 
	settings TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_webinars_status CHECK (status IN ('waiting', 'started', 'ended')), 
	UNIQUE (uuid), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	FOREIGN KEY(host_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_webinars_account_id ON webinars (account_id);

CREATE INDEX ix_webinars_host_id ON webinars (host_id);

CREATE TABLE daily_counters (
	"key" VARCHAR(200) NOT NULL, 
	day VARCHAR(10) NOT NULL, 
	count INTEGER NOT NULL, 
	PRIMARY KEY ("key", day)
);

CREATE TABLE meetings (
	id BIGINT NOT NULL, 
	uuid VARCHAR(64) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	host_id VARCHAR(64) NOT NULL, 
	topic VARCHAR(200) NOT NULL, 
	type INTEGER NOT NULL, 
	start_time DATETIME, 
	duration INTEGER NOT NULL, 
	timezone VARCHAR(64) NOT NULL, 
	agenda TEXT NOT NULL, 
	password VARCHAR(10) NOT NULL, 
	settings TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	started_at DATETIME, 
	ended_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_meetings_status CHECK (status IN ('waiting', 'started', 'ended')), 
	UNIQUE (uuid), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE, 
	FOREIGN KEY(host_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_meetings_account_id ON meetings (account_id);

CREATE INDEX ix_meetings_host_id ON meetings (host_id);

CREATE TABLE livestreams (
	kind VARCHAR(8) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	stream_url VARCHAR(1024), 
	stream_key VARCHAR(512), 
	page_url VARCHAR(1024), 
	resolution VARCHAR(8), 
	state VARCHAR(16) NOT NULL, 
	display_name VARCHAR(200), 
	active_speaker_name BOOLEAN, 
	layout VARCHAR(16), 
	close_caption VARCHAR(16), 
	started_at DATETIME, 
	stopped_at DATETIME, 
	last_start_request_at DATETIME, 
	last_error TEXT, 
	updated_at DATETIME, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (kind, owner_id), 
	CONSTRAINT ck_livestreams_kind CHECK (kind IN ('webinar', 'meeting')), 
	CONSTRAINT ck_livestreams_state CHECK (state IN ('stopped', 'starting', 'live', 'failed')), 
	FOREIGN KEY(account_id) REFERENCES accounts (id) ON DELETE CASCADE
);

CREATE INDEX ix_livestreams_account_id ON livestreams (account_id);

CREATE TABLE livestream_events (
	id INTEGER NOT NULL, 
	kind VARCHAR(8) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	from_state VARCHAR(16) NOT NULL, 
	to_state VARCHAR(16) NOT NULL, 
	at DATETIME NOT NULL, 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE webhook_subscriptions (
	client_id VARCHAR(128) NOT NULL, 
	account_id VARCHAR(64) NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	secret_token VARCHAR(256) NOT NULL, 
	events TEXT NOT NULL, 
	validated_at DATETIME, 
	validation_error TEXT, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (client_id), 
	FOREIGN KEY(client_id) REFERENCES apps (client_id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_subscriptions_account_id ON webhook_subscriptions (account_id);

CREATE TABLE webhook_deliveries (
	id INTEGER NOT NULL, 
	client_id VARCHAR(128) NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	event VARCHAR(100) NOT NULL, 
	body TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME, 
	created_at DATETIME NOT NULL, 
	delivered_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT ck_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'failed'))
);

CREATE INDEX ix_webhook_deliveries_status ON webhook_deliveries (status);

CREATE TABLE webhook_attempts (
	id INTEGER NOT NULL, 
	delivery_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	status_code INTEGER, 
	duration_ms INTEGER NOT NULL, 
	error TEXT, request_timestamp VARCHAR(20), signature VARCHAR(100), 
	PRIMARY KEY (id), 
	FOREIGN KEY(delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_attempts_delivery_id ON webhook_attempts (delivery_id);

CREATE TABLE control_state (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);

CREATE TABLE fault_rules (
	id VARCHAR(64) NOT NULL, 
	seq INTEGER NOT NULL, 
	body TEXT NOT NULL, 
	remaining INTEGER, 
	PRIMARY KEY (id)
);

CREATE TABLE stream_leases (
	kind VARCHAR(8) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	worker VARCHAR(128) NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (kind, owner_id)
);

CREATE TABLE stream_reports (
	kind VARCHAR(8) NOT NULL, 
	owner_id BIGINT NOT NULL, 
	worker VARCHAR(128) NOT NULL, 
	speaker VARCHAR(200), 
	metrics TEXT, 
	thumbnail BLOB, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (kind, owner_id)
);

INSERT INTO alembic_version (version_num) VALUES ('0006');
