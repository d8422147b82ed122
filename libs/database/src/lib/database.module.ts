import { type DynamicModule, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Database } from './database';
import { type Migration, runMigrations } from './migrations';
import { type DatabaseOptions, openDatabase } from './open-database';

/** Injection token of the service's {@link Database}. */
export const DATABASE = Symbol('DATABASE');

/** Options of {@link DatabaseModule}: where the data lives and the schema's migrations. */
export interface DatabaseModuleOptions extends DatabaseOptions {
  readonly migrations: readonly Migration[];
}

/**
 * Opens the service's database at boot, brings its schema up to date, provides it as
 * `DATABASE`, and closes it on shutdown.
 */
@Module({})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {}

  static forRoot(options: DatabaseModuleOptions): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [
        {
          provide: DATABASE,
          useFactory: async () => {
            const db = await openDatabase(options);
            await runMigrations(db, options.migrations);
            return db;
          },
        },
      ],
      exports: [DATABASE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
