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
];
