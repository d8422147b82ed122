// `npm run check-writes`: compares billing's charges for metered writes with the files the
// filesystem stored, for the running stack, and prints every difference (exit 1 if any).
// Reads the token and the URLs from the environment or .env, like `npm run invite`.
// See docs/metered-writes.md for what each difference means and what to do about it.
import { checkWrites } from './lib/write-check';
import { errorMessage, runMain, stackEnvironment } from './stack';

async function main(): Promise<void> {
  const env = stackEnvironment();
  if (!env.INTERNAL_SERVICE_TOKEN) {
    console.error(
      'check-writes: INTERNAL_SERVICE_TOKEN is not set (run npm start once, or export it)',
    );
    process.exit(2);
  }
  try {
    const result = await checkWrites({
      billingUrl: env.BILLING_SERVER_URL || `http://127.0.0.1:${env.BILLING_SERVER_PORT || 6004}`,
      filesystemUrl:
        env.FILESYSTEM_SERVER_URL || `http://127.0.0.1:${env.FILESYSTEM_SERVER_PORT || 6002}`,
      token: env.INTERNAL_SERVICE_TOKEN,
      journalDays: Number(env.FS_WRITE_JOURNAL_DAYS || 30),
    });
    console.log(JSON.stringify(result, null, 2));
    process.exit(result.differences.length === 0 ? 0 : 1);
  } catch (error) {
    console.error(`check-writes: ${errorMessage(error)} (is the stack running? npm start)`);
    process.exit(2);
  }
}

runMain(main);
