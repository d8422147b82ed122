import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { UsersRepository } from '../users/users.repository';

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Forgets, every hour, the revocations whose tokens have all expired. */
@Injectable()
export class RevocationPurge implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RevocationPurge.name);
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly repository: UsersRepository) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_INTERVAL_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async purge(): Promise<void> {
    try {
      const removed = await this.repository.purgeRevocations();
      if (removed > 0) this.logger.log({ event: 'revocations_purged', removed });
    } catch (error) {
      this.logger.error({ event: 'revocations_purge_failed', error: (error as Error).message });
    }
  }
}
