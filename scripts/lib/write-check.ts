// The ledger/files checker: compares what billing charged for metered writes with what the
// filesystem stored, and reports every difference (docs/metered-writes.md). Used by
// `npm run check-writes` (an operator's command against a running stack) and by the drill.
import { z } from 'zod';
import { errorMessage } from '../stack';

const PAGE = 1000;

// The fields the checker reads of each answer, as libs/contracts declares them. The scripts
// run their TypeScript as it is, without a build, and tsx maps no @zt/* path (there is no
// tsconfig.json at the root), so they cannot import that lib: answers are checked here.
const holdsPage = z.object({
  holds: z.array(
    z.object({
      hold_id: z.string(),
      user_id: z.string(),
      amount: z.number(),
      state: z.enum(['held', 'captured', 'released']),
      charge_transaction_id: z.string(),
      refund_transaction_id: z.string().nullable(),
      created_at: z.string(),
    }),
  ),
  next_after: z.string().nullable(),
});
const writesPage = z.object({
  writes: z.array(
    z.object({
      write_id: z.string(),
      outcome: z.enum(['intent', 'applied', 'aborted']),
      path: z.string().nullable(),
      size: z.number().nullable(),
      at: z.string(),
    }),
  ),
  next_after: z.string().nullable(),
});
const ledgerPage = z.object({
  entries: z.array(z.object({ transaction_id: z.string(), amount: z.number() })),
  next_before: z.string().nullable(),
});
const balanceAnswer = z.object({ balance: z.number() });
const filesAnswer = z.object({
  files: z.array(z.object({ path: z.string(), size: z.number() })),
});

type Hold = z.infer<typeof holdsPage>['holds'][number];
type JournalEntry = z.infer<typeof writesPage>['writes'][number];
type LedgerEntry = z.infer<typeof ledgerPage>['entries'][number];

export interface WriteCheckOptions {
  readonly billingUrl: string;
  readonly filesystemUrl: string;
  /**
   * The internal credential of a call to billing or the filesystem as the service client
   * `clientId`: the shared token and, with service identity, that client's service token for
   * the audience. Holds, balances and files are read as `caller`, ledgers as `operator`
   * (docs/policy.md: nobody else may read both).
   */
  readonly headers: (
    clientId: string,
    audience: 'billing-server' | 'filesystem-server',
  ) => Promise<Readonly<Record<string, string>>>;
  /** The service whose writes are checked (default `backend`). */
  readonly caller?: string;
  /** How many days the filesystem keeps its write journal (default 30). */
  readonly journalDays?: number;
}

/** A difference between the ledger and the files: its kind, and where it is. */
export interface WriteDifference {
  readonly kind: string;
  readonly [detail: string]: unknown;
}

export interface WriteCheckResult {
  readonly users: number;
  readonly holds: number;
  readonly captured: number;
  readonly released: number;
  readonly held: number;
  readonly applied: number;
  readonly files: number;
  readonly unverifiable: number;
  readonly differences: WriteDifference[];
}

/**
 * Reads every hold of `caller` from billing, then per user the filesystem's write journal,
 * the stored files, the ledger and the balance, and compares them.
 * Holds older than the filesystem's journal (`journalDays`, FS_WRITE_JOURNAL_DAYS) cannot be
 * checked against it: they are counted as `unverifiable`, not reported as differences, and so
 * are the files of their users that no journal entry explains.
 */
export async function checkWrites(options: WriteCheckOptions): Promise<WriteCheckResult> {
  const caller = options.caller ?? 'backend';
  const journalFrom = Date.now() - (options.journalDays ?? 30) * 24 * 60 * 60 * 1000;
  const billing = internalApi(
    options.billingUrl,
    () => options.headers(caller, 'billing-server'),
    caller,
  );
  const ledgers = internalApi(
    options.billingUrl,
    () => options.headers('operator', 'billing-server'),
    caller,
  );
  const filesystem = internalApi(
    options.filesystemUrl,
    () => options.headers(caller, 'filesystem-server'),
    caller,
  );

  const holds = await pages(async (after) => {
    const page = await billing.get(holdsPage, '/holds', { after, limit: PAGE });
    return { items: page.holds, next: page.next_after };
  });
  const users = [...new Set(holds.map((hold) => hold.user_id))].sort();
  const differences: WriteDifference[] = [];
  const report = (kind: string, details: Record<string, unknown>): void => {
    differences.push({ kind, ...details });
  };
  let applied = 0;
  let files = 0;
  let unverifiable = 0;

  for (const userId of users) {
    try {
      await checkUser(userId);
    } catch (error) {
      // One user's data that cannot be read hides nothing about the others.
      report('unreadable', { user_id: userId, error: errorMessage(error) });
    }
  }

  async function checkUser(userId: string): Promise<void> {
    const allHolds = holds.filter((hold) => hold.user_id === userId);
    const userHolds = allHolds.filter((hold) => Date.parse(hold.created_at) >= journalFrom);
    unverifiable += allHolds.length - userHolds.length;
    const journal = new Map<string, JournalEntry>(
      (
        await pages(async (after) => {
          const page = await filesystem.get(writesPage, '/writes', { after, limit: PAGE }, userId);
          return { items: page.writes, next: page.next_after };
        })
      ).map((write) => [write.write_id, write]),
    );
    const user = encodeURIComponent(userId);
    const ledger = await pages(async (before) => {
      const page = await ledgers.get(ledgerPage, `/ledger/${user}`, { before, limit: 100 });
      return { items: page.entries, next: page.next_before };
    });
    const ledgerById = new Map<string, LedgerEntry>(
      ledger.map((entry) => [entry.transaction_id, entry]),
    );
    const balance = (await billing.get(balanceAnswer, `/balance/${user}`)).balance;

    // Money: the ledger sums to the balance (integer micro-credits, never floats).
    const sum = ledger.reduce((total, entry) => total + micros(entry.amount), 0n);
    if (sum !== micros(balance)) {
      report('balance_mismatch', { user_id: userId, ledger_sum: credits(sum), balance });
    }

    // Each hold against its write and its ledger rows.
    for (const hold of userHolds) {
      const write = journal.get(hold.hold_id);
      const where = { user_id: userId, write_id: hold.hold_id };
      const charge = ledgerById.get(hold.charge_transaction_id);
      if (!charge || micros(charge.amount) !== -micros(hold.amount)) {
        report('charge_row_missing', where);
      }
      if (hold.state === 'held') {
        report('unsettled', { ...where, outcome: write?.outcome ?? null });
      } else if (hold.state === 'captured' && write?.outcome !== 'applied') {
        report('charged_not_stored', { ...where, outcome: write?.outcome ?? null });
      } else if (hold.state === 'released') {
        if (write?.outcome === 'applied') report('stored_not_charged', where);
        // Released without the filesystem's `aborted`: a write could still have landed.
        if (write === undefined) report('released_without_fence', where);
        const refund =
          hold.refund_transaction_id === null
            ? undefined
            : ledgerById.get(hold.refund_transaction_id);
        if (!refund || micros(refund.amount) !== micros(hold.amount)) {
          report('refund_row_missing', where);
        }
      }
    }

    // Each applied write has a hold; each stored file was written by a paid write.
    const held = new Set(allHolds.map((hold) => hold.hold_id));
    const latestApplied = new Map<string | null, JournalEntry>();
    for (const write of journal.values()) {
      if (write.outcome !== 'applied') continue;
      applied += 1;
      if (!held.has(write.write_id)) {
        report('stored_without_hold', { user_id: userId, write_id: write.write_id });
      }
      const latest = latestApplied.get(write.path);
      if (!latest || latest.at < write.at) latestApplied.set(write.path, write);
    }
    const stored = (await filesystem.get(filesAnswer, '/files', {}, userId)).files;
    files += stored.length;
    for (const file of stored) {
      const write = latestApplied.get(file.path);
      if (write && write.size === file.size) continue;
      // Written before the journal's memory begins: nothing left to compare it with.
      if (!write && allHolds.length > userHolds.length) unverifiable += 1;
      else report('file_without_paid_write', { user_id: userId, path: file.path, size: file.size });
    }
  }

  const count = (state: Hold['state']): number =>
    holds.filter((hold) => hold.state === state).length;
  return {
    users: users.length,
    holds: holds.length,
    captured: count('captured'),
    released: count('released'),
    held: count('held'),
    applied,
    files,
    unverifiable,
    differences,
  };
}

/** GET with the internal credential, as `caller`, for `userId` when given; the JSON answer. */
function internalApi(
  baseUrl: string,
  credential: () => Promise<Readonly<Record<string, string>>>,
  caller: string,
) {
  return {
    async get<T>(
      answer: z.ZodType<T, z.ZodTypeDef, unknown>,
      path: string,
      query: Record<string, string | number | undefined> = {},
      userId?: string,
    ): Promise<T> {
      const search = new URLSearchParams(
        Object.entries(query).flatMap(([name, value]): [string, string][] =>
          value === undefined ? [] : [[name, String(value)]],
        ),
      );
      const url = `${baseUrl}${path}${search.size > 0 ? `?${search}` : ''}`;
      const response = await fetch(url, {
        headers: {
          ...(await credential()),
          'X-Caller-Service': caller,
          ...(userId === undefined ? {} : { 'X-User-ID': userId }),
        },
        signal: AbortSignal.timeout(10_000),
      });
      const body: unknown = await response.json().catch(() => undefined);
      if (response.status !== 200) {
        throw new Error(`GET ${path} answered ${response.status} ${JSON.stringify(body)}`);
      }
      const parsed = answer.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new Error(`GET ${path} answered 200 with ${issue.path.join('.')}: ${issue.message}`);
      }
      return parsed.data;
    },
  };
}

/** Every item of a paged list: `fetchPage(cursor)` until the next cursor is null. */
async function pages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Credits (a JSON number with at most 6 decimals) as exact micro-credits. */
function micros(amount: number): bigint {
  const [whole, fraction = ''] = String(amount).replace('-', '').split('.');
  const value = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  return String(amount).startsWith('-') ? -value : value;
}

function credits(value: bigint): string {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const fraction = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / 1_000_000n}${fraction ? `.${fraction}` : ''}`;
}
