// `npm run invite -- <tier>`: prints a single-use invite code for a new user of the running
// stack (tier free, pro or team; default pro). Reads the credentials from the environment or
// .env: the shared token, and in INTERNAL_AUTH_MODE token+jwt or jwt the operator's client secret.
import { operatorHeaders } from './lib/operator-credentials';
import {
  authServerUrl,
  createInvite,
  errorMessage,
  isTier,
  runMain,
  stackEnvironment,
  TIERS,
} from './stack';

async function main(): Promise<void> {
  const tier = process.argv[2] ?? 'pro';
  if (!isTier(tier)) {
    console.error(`usage: npm run invite -- <${TIERS.join('|')}>`);
    process.exit(2);
  }
  const env = stackEnvironment();
  if (!env.INTERNAL_SERVICE_TOKEN && (env.INTERNAL_AUTH_MODE || 'token') !== 'jwt') {
    console.error('invite: INTERNAL_SERVICE_TOKEN is not set (run npm start once, or export it)');
    process.exit(2);
  }
  try {
    const headers = await operatorHeaders(env, authServerUrl(env), 'auth-server');
    console.log(await createInvite(env, tier, headers));
  } catch (error) {
    console.error(`invite: ${errorMessage(error)} (is the stack running? npm start)`);
    process.exit(1);
  }
}

runMain(main);
