import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

/**
 * What `HealthController` needs (@nestjs/terminus). Import it in the root module and list
 * `HealthController` among the root module's controllers, beside the module's
 * `HEALTH_CHECKS` provider (if any):
 *
 * ```ts
 * imports: [HealthModule, ...], controllers: [HealthController], providers: [DATABASE_HEALTH_CHECKS]
 * ```
 */
@Module({
  // Terminus's own logger writes plain text past pino; readiness changes are logged by the controller.
  imports: [TerminusModule.forRoot({ logger: false })],
  exports: [TerminusModule],
})
export class HealthModule {}
