import type { Migration } from '@zt/database';

/**
 * The billing schema, identical on PostgreSQL and PGlite. The constraints are the last line
 * of defence for the money rules the code already enforces: a balance is never negative nor
 * above 1e9 credits, a ledger row is never changed or removed.
 */
export const BILLING_MIGRATIONS: readonly Migration[] = [
  {
    id: '001_accounts_ledger_idempotency',
    sql: `
      CREATE TABLE accounts (
        user_id    text PRIMARY KEY CHECK (user_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
        tier       text NOT NULL CHECK (tier IN ('free', 'pro', 'team')),
        balance    bigint NOT NULL CHECK (balance >= 0 AND balance <= 1000000000000000),
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE ledger_entries (
        seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id uuid NOT NULL UNIQUE,
        user_id        text NOT NULL REFERENCES accounts (user_id),
        kind           text NOT NULL CHECK (kind IN ('opening', 'deduct', 'top_up')),
        amount         bigint NOT NULL CHECK ((kind = 'deduct') = (amount < 0)),
        balance_after  bigint NOT NULL CHECK (balance_after >= 0),
        reason         text CHECK (char_length(reason) <= 256),
        created_at     timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX ledger_entries_by_user ON ledger_entries (user_id, seq DESC);

      CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'ledger_entries is append-only';
      END $$;
      CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
      CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only();

      CREATE TABLE idempotency_keys (
        caller        text NOT NULL,
        key           text NOT NULL,
        endpoint      text NOT NULL,
        request_hash  text NOT NULL,
        status_code   integer NOT NULL,
        response_body jsonb NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (caller, key)
      );
      CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    `,
  },
  {
    // jsonb reorders an object's keys, so a replay came back in another order than the
    // first answer; text keeps the answer as it was sent.
    id: '002_idempotency_response_as_text',
    sql: `ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE text USING response_body::text;`,
  },
  {
    // A hold takes the amount from the balance at once (a `deduct` ledger row) and is then
    // captured (kept) or released (paid back with a `top_up` row): the saga state of a
    // metered write, kept with the money so that no step of it can be lost.
    id: '003_holds',
    sql: `
      CREATE TABLE holds (
        seq                   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        caller                text NOT NULL,
        hold_id               text NOT NULL CHECK (hold_id ~ '^[A-Za-z0-9_-]{1,64}$'),
        user_id               text NOT NULL REFERENCES accounts (user_id),
        amount                bigint NOT NULL CHECK (amount > 0),
        reason                text CHECK (char_length(reason) <= 256),
        state                 text NOT NULL CHECK (state IN ('held', 'captured', 'released')),
        charge_transaction_id uuid NOT NULL
          REFERENCES ledger_entries (transaction_id) DEFERRABLE INITIALLY DEFERRED,
        refund_transaction_id uuid REFERENCES ledger_entries (transaction_id),
        created_at            timestamptz NOT NULL DEFAULT now(),
        settled_at            timestamptz,
        PRIMARY KEY (caller, hold_id),
        CHECK ((state = 'released') = (refund_transaction_id IS NOT NULL)),
        CHECK ((state = 'held') = (settled_at IS NULL))
      );
      CREATE INDEX holds_open ON holds (seq) WHERE state = 'held';
    `,
  },
  {
    // An idempotency key remembers the billing outcome, not the HTTP answer: the service speaks
    // in outcomes and only the controllers map them to HTTP. The answers already remembered
    // become outcomes here; only 200, 402 and 404 were ever stored (credits to micro-credits
    // exactly: numeric, not float).
    id: '004_idempotency_outcome',
    sql: `
      ALTER TABLE idempotency_keys ADD COLUMN outcome text;
      UPDATE idempotency_keys SET outcome = CASE status_code
        WHEN 200 THEN json_build_object(
          'kind', 'applied',
          'user_id', response_body::json->>'user_id',
          'balance', ((response_body::json->>'balance')::numeric * 1000000)::bigint::text,
          'transaction_id', response_body::json->>'transaction_id')::text
        WHEN 402 THEN json_build_object(
          'kind', 'insufficient_funds',
          'balance', ((response_body::json->>'balance')::numeric * 1000000)::bigint::text)::text
        WHEN 404 THEN '{"kind":"account_not_found"}'
      END;
      DELETE FROM idempotency_keys WHERE outcome IS NULL;
      ALTER TABLE idempotency_keys
        ALTER COLUMN outcome SET NOT NULL,
        DROP COLUMN status_code,
        DROP COLUMN response_body;
    `,
  },
];
