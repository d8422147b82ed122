// `npm run check-writes`: compares billing's charges for metered writes with the files the
// filesystem stored, for the running stack, and prints every difference (exit 1 if any).
// Reads the credentials and the URLs from the environment or .env, like `npm run invite`: the
// shared token and, in INTERNAL_AUTH_MODE token+jwt or jwt, the client secrets of the backend
// (its holds, and files as each user, as only the backend may read them) and of the operator
// (ledgers).
// See docs/metered-writes.md for what each difference means and what to do about it.
import { clientHeaders } from './lib/operator-credentials';
import { checkWrites } from './lib/write-check';
import { authServerUrl, errorMessage, runMain, stackEnvironment } from './stack';

async function main(): Promise<void> {
  const env = stackEnvironment();
  if (!env.INTERNAL_SERVICE_TOKEN && (env.INTERNAL_AUTH_MODE || 'token') !== 'jwt') {
    console.error(
      'check-writes: INTERNAL_SERVICE_TOKEN is not set (run npm start once, or export it)',
    );
    process.exit(2);
  }
  try {
    const headers = clientHeaders(env, authServerUrl(env));
    const result = await checkWrites({
      billingUrl: env.BILLING_SERVER_URL || `http://127.0.0.1:${env.BILLING_SERVER_PORT || 6004}`,
      filesystemUrl:
        env.FILESYSTEM_SERVER_URL || `http://127.0.0.1:${env.FILESYSTEM_SERVER_PORT || 6002}`,
      headers,
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
