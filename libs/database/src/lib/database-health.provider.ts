import type { Provider } from '@nestjs/common';
import { type HealthCheck, HEALTH_CHECKS } from '@zt/service-chassis';
import type { Database } from './database';
import { DATABASE } from './database.module';

/**
 * Provides `HEALTH_CHECKS` for a service whose only dependency is its database: one check,
 * `database`, that runs `SELECT 1`.
 */
export const DATABASE_HEALTH_CHECKS: Provider = {
  provide: HEALTH_CHECKS,
  inject: [DATABASE],
  useFactory: (db: Database): HealthCheck[] => [
    { name: 'database', check: () => db.query('SELECT 1').then(() => undefined) },
  ],
};
