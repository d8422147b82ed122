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
  {
    // A deduct or top-up in one statement, i.e. one round trip instead of 4 (7 with an
    // Idempotency-Key): called alone, a statement is its own transaction. PL/pgSQL rather than
    // a data-modifying CTE because each statement in a (volatile) function sees what committed
    // before it, as separate statements did: a refused deduct reports the balance that refused
    // it, and the look-up after the key's lock sees the outcome of a request that just ended.
    id: '005_ledger_functions',
    sql: `
      CREATE FUNCTION apply_balance_change(
        p_kind text, p_user_id text, p_micros bigint, p_reason text, p_transaction_id uuid,
        p_max_balance bigint,
        OUT result_kind text, OUT result_balance bigint
      ) LANGUAGE plpgsql AS $$
      BEGIN
        IF p_kind = 'deduct' THEN
          UPDATE accounts SET balance = balance - p_micros
            WHERE user_id = p_user_id AND balance >= p_micros
            RETURNING balance INTO result_balance;
        ELSIF p_kind = 'top_up' THEN
          UPDATE accounts SET balance = balance + p_micros
            WHERE user_id = p_user_id AND balance <= p_max_balance - p_micros
            RETURNING balance INTO result_balance;
        ELSE
          RAISE EXCEPTION 'unknown balance change kind %', p_kind;
        END IF;
        IF FOUND THEN
          INSERT INTO ledger_entries (transaction_id, user_id, kind, amount, balance_after, reason)
            VALUES (p_transaction_id, p_user_id, p_kind,
                    CASE p_kind WHEN 'deduct' THEN -p_micros ELSE p_micros END,
                    result_balance, p_reason);
          result_kind := 'applied';
          RETURN;
        END IF;
        SELECT balance INTO result_balance FROM accounts WHERE user_id = p_user_id;
        IF NOT FOUND THEN
          result_kind := 'account_not_found';
        ELSIF p_kind = 'deduct' THEN
          result_kind := 'insufficient_funds';
        ELSE
          result_kind := 'balance_limit_exceeded';
          result_balance := NULL;
        END IF;
      END $$;

      -- The remembered outcome is written as BillingRepository's encodeOutcome writes it
      -- (same text), so that either can read what the other stored.
      CREATE FUNCTION change_balance_idempotently(
        p_caller text, p_key text, p_request_hash text, p_ttl_hours integer,
        p_kind text, p_user_id text, p_micros bigint, p_reason text, p_transaction_id uuid,
        p_max_balance bigint,
        OUT result_kind text, OUT result_balance bigint,
        OUT stored_endpoint text, OUT stored_request_hash text, OUT stored_outcome text
      ) LANGUAGE plpgsql AS $$
      BEGIN
        -- A finished request is replayed without its lock, however many replays come at
        -- once: only a request whose original is still running may be told in_progress.
        SELECT endpoint, request_hash, outcome
          INTO stored_endpoint, stored_request_hash, stored_outcome
          FROM idempotency_keys
          WHERE caller = p_caller AND key = p_key
            AND created_at > now() - make_interval(hours => p_ttl_hours);
        IF FOUND THEN
          result_kind := 'stored';
          RETURN;
        END IF;
        -- Held until this statement's transaction ends. A caller name never contains '/',
        -- so caller/key pairs cannot collide.
        IF NOT pg_try_advisory_xact_lock(
          hashtextextended('idempotency/' || p_caller || '/' || p_key, 0)
        ) THEN
          result_kind := 'in_progress';
          RETURN;
        END IF;
        -- The original may have finished between the look-up and the lock.
        SELECT endpoint, request_hash, outcome
          INTO stored_endpoint, stored_request_hash, stored_outcome
          FROM idempotency_keys
          WHERE caller = p_caller AND key = p_key
            AND created_at > now() - make_interval(hours => p_ttl_hours);
        IF FOUND THEN
          result_kind := 'stored';
          RETURN;
        END IF;
        SELECT c.result_kind, c.result_balance INTO result_kind, result_balance
          FROM apply_balance_change(p_kind, p_user_id, p_micros, p_reason, p_transaction_id,
                                    p_max_balance) AS c;
        -- A balance at its limit changed nothing: the key stays free for a later attempt.
        IF result_kind = 'balance_limit_exceeded' THEN
          RETURN;
        END IF;
        INSERT INTO idempotency_keys (caller, key, endpoint, request_hash, outcome)
          VALUES (p_caller, p_key, p_kind, p_request_hash, CASE result_kind
            WHEN 'applied' THEN
              '{"kind":"applied","user_id":' || to_json(p_user_id)::text ||
              ',"balance":"' || result_balance || '","transaction_id":"' ||
              p_transaction_id || '"}'
            WHEN 'insufficient_funds' THEN
              '{"kind":"insufficient_funds","balance":"' || result_balance || '"}'
            ELSE '{"kind":"account_not_found"}'
          END)
          ON CONFLICT (caller, key) DO UPDATE SET
            endpoint = EXCLUDED.endpoint, request_hash = EXCLUDED.request_hash,
            outcome = EXCLUDED.outcome, created_at = now();
      END $$;
    `,
  },
];
