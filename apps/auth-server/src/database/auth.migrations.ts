import type { Migration } from '@zt/database';

/** The auth schema, identical on PostgreSQL and PGlite. */
export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    id: '001_users_and_invites',
    sql: `
      CREATE TABLE users (
        user_id       uuid PRIMARY KEY,
        email         text NOT NULL CHECK (email = lower(email) AND char_length(email) <= 254),
        password_hash text NOT NULL,
        tier          text NOT NULL CHECK (tier IN ('free', 'pro', 'team')),
        created_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX users_email ON users (email);

      -- Only a digest of each invite code is kept: a copy of this table opens no door.
      CREATE TABLE invites (
        code_digest text PRIMARY KEY,
        tier        text NOT NULL CHECK (tier IN ('free', 'pro', 'team')),
        created_at  timestamptz NOT NULL DEFAULT now(),
        used_at     timestamptz,
        used_by     uuid REFERENCES users (user_id)
      );
    `,
  },
  {
    // Ending sessions: a token revoked by its jti (logout) or every token of a user issued
    // before a second (password change). Rows are kept until the tokens they name expire.
    id: '002_revocations',
    sql: `
      ALTER TABLE users ADD COLUMN tokens_valid_after bigint NOT NULL DEFAULT 0;

      CREATE TABLE revocations (
        seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id    uuid NOT NULL REFERENCES users (user_id),
        jti        uuid UNIQUE,
        not_before bigint,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((jti IS NULL) <> (not_before IS NULL))
      );
      CREATE INDEX revocations_by_expiry ON revocations (expires_at);
    `,
  },
  {
    // Service tokens revoked by the client they were issued to (RFC 7009), kept until they
    // expire: introspection answers inactive for them at once.
    id: '003_service_token_revocations',
    sql: `
      CREATE TABLE service_token_revocations (
        jti        text PRIMARY KEY,
        client_id  text NOT NULL,
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX service_token_revocations_by_expiry ON service_token_revocations (expires_at);
    `,
  },
];
