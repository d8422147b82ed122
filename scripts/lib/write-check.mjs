// The ledger/files checker: compares what billing charged for metered writes with what the
// filesystem stored, and reports every difference (docs/metered-writes.md). Used by
// `npm run check-writes` (an operator's command against a running stack) and by the drill.

const PAGE = 1000;

/**
 * Reads every hold of `caller` from billing, then per user the filesystem's write journal,
 * the stored files, the ledger and the balance, and compares them.
 * Holds older than the filesystem's journal (`journalDays`, FS_WRITE_JOURNAL_DAYS) cannot be
 * checked against it: they are counted as `unverifiable`, not reported as differences, and so
 * are the files of their users that no journal entry explains.
 * @param {{billingUrl: string, filesystemUrl: string, token: string, caller?: string, journalDays?: number}} options
 */
export async function checkWrites(options) {
  const caller = options.caller ?? 'backend';
  const journalFrom = Date.now() - (options.journalDays ?? 30) * 24 * 60 * 60 * 1000;
  const billing = internalApi(options.billingUrl, options.token, caller);
  const filesystem = internalApi(options.filesystemUrl, options.token, caller);

  const holds = await pages((after) => billing.get('/holds', { after, limit: PAGE }), 'holds');
  const users = [...new Set(holds.map((hold) => hold.user_id))].sort();
  const differences = [];
  const report = (kind, details) => differences.push({ kind, ...details });
  let applied = 0;
  let files = 0;
  let unverifiable = 0;

  for (const userId of users) {
    try {
      await checkUser(userId);
    } catch (error) {
      // One user's data that cannot be read hides nothing about the others.
      report('unreadable', { user_id: userId, error: error.message });
    }
  }

  async function checkUser(userId) {
    const allHolds = holds.filter((hold) => hold.user_id === userId);
    const userHolds = allHolds.filter((hold) => Date.parse(hold.created_at) >= journalFrom);
    unverifiable += allHolds.length - userHolds.length;
    const journal = new Map(
      (
        await pages(
          (after) => filesystem.get('/writes', { after, limit: PAGE }, userId),
          'writes',
          'next_after',
        )
      ).map((write) => [write.write_id, write]),
    );
    const ledger = await pages(
      (before) => billing.get(`/ledger/${encodeURIComponent(userId)}`, { before, limit: 100 }),
      'entries',
      'next_before',
    );
    const ledgerById = new Map(ledger.map((entry) => [entry.transaction_id, entry]));
    const balance = (await billing.get(`/balance/${encodeURIComponent(userId)}`)).balance;

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
        const refund = ledgerById.get(hold.refund_transaction_id);
        if (!refund || micros(refund.amount) !== micros(hold.amount)) {
          report('refund_row_missing', where);
        }
      }
    }

    // Each applied write has a hold; each stored file was written by a paid write.
    const held = new Set(allHolds.map((hold) => hold.hold_id));
    const latestApplied = new Map();
    for (const write of journal.values()) {
      if (write.outcome !== 'applied') continue;
      applied += 1;
      if (!held.has(write.write_id)) {
        report('stored_without_hold', { user_id: userId, write_id: write.write_id });
      }
      const latest = latestApplied.get(write.path);
      if (!latest || latest.at < write.at) latestApplied.set(write.path, write);
    }
    const stored = (await filesystem.get('/files', {}, userId)).files;
    files += stored.length;
    for (const file of stored) {
      const write = latestApplied.get(file.path);
      if (write && write.size === file.size) continue;
      // Written before the journal's memory begins: nothing left to compare it with.
      if (!write && allHolds.length > userHolds.length) unverifiable += 1;
      else report('file_without_paid_write', { user_id: userId, path: file.path, size: file.size });
    }
  }

  const count = (state) => holds.filter((hold) => hold.state === state).length;
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
function internalApi(baseUrl, token, caller) {
  return {
    async get(path, query = {}, userId) {
      const search = new URLSearchParams(
        Object.entries(query).filter(([, value]) => value !== undefined && value !== null),
      );
      const url = `${baseUrl}${path}${search.size > 0 ? `?${search}` : ''}`;
      const response = await fetch(url, {
        headers: {
          'X-INTERNAL-TOKEN': token,
          'X-Caller-Service': caller,
          ...(userId === undefined ? {} : { 'X-User-ID': userId }),
        },
        signal: AbortSignal.timeout(10_000),
      });
      const body = await response.json().catch(() => undefined);
      if (response.status !== 200) {
        throw new Error(`GET ${path} answered ${response.status} ${JSON.stringify(body)}`);
      }
      return body;
    },
  };
}

/** Every item of a paged list: `fetchPage(cursor)` until its cursor field is null. */
async function pages(fetchPage, field, cursorField = 'next_after') {
  const items = [];
  let cursor;
  do {
    const page = await fetchPage(cursor);
    items.push(...page[field]);
    cursor = page[cursorField] ?? undefined;
  } while (cursor !== undefined);
  return items;
}

/** Credits (a JSON number with at most 6 decimals) as exact micro-credits. */
function micros(amount) {
  const [whole, fraction = ''] = String(amount).replace('-', '').split('.');
  const value = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  return String(amount).startsWith('-') ? -value : value;
}

function credits(value) {
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const fraction = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${sign}${abs / 1_000_000n}${fraction ? `.${fraction}` : ''}`;
}
