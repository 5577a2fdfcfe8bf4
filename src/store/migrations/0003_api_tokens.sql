-- Bearer tokens of the HTTP API (`watcher token create|revoke`). Only a SHA-256 of each token
-- is stored: a token is 32 random bytes, so a fast unsalted hash is enough, and a leaked
-- table gives no usable token.

-- Up Migration

CREATE TYPE api_scope AS ENUM ('read', 'write', 'admin');

CREATE TABLE api_token (
  id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         varchar(150) NOT NULL UNIQUE,
  token_hash   char(64) NOT NULL UNIQUE,
  scope        api_scope NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  last_used_at timestamptz
);

-- Down Migration

DROP TABLE api_token;
DROP TYPE api_scope;
