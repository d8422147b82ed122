import { Inject, Injectable, Optional } from '@nestjs/common';
import { DATABASE, type Database } from '@zt/database';
import { ServiceMetrics } from '@zt/service-chassis';
import { Counter } from 'prom-client';

/**
 * Exposes `billing_database_round_trips_total`: the requests this server has sent to its
 * database (statements, and BEGIN/COMMIT/ROLLBACK of transactions), read at scrape time from
 * the database's own count. Divided by `billing_ledger_operations_total`, it is the number of
 * round trips a deduct costs (the bench reads it so).
 */
@Injectable()
export class DatabaseRoundTripsMetric {
  constructor(@Inject(DATABASE) db: Database, @Optional() metrics?: ServiceMetrics) {
    if (!metrics) return;
    new Counter({
      name: 'billing_database_round_trips_total',
      help:
        'Requests sent to the database: statements, and BEGIN/COMMIT/ROLLBACK of transactions ' +
        '(each a round trip to a PostgreSQL server).',
      registers: [metrics.registry],
      collect() {
        this.reset();
        this.inc(db.roundTrips);
      },
    });
  }
}
