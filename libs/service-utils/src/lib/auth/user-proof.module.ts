import { type DynamicModule, Module } from '@nestjs/common';
import type { UserProofConfig } from '../config/user-proof.config';
import { USER_PROOF_CONFIG } from './user-proof.constants';

/**
 * The receiving side of end-user proof: gives `UserProofGuard` (applied by
 * `@ActsForUser()`) its configuration. Import it once, in the root module, beside
 * `InternalAuthModule`:
 *
 * ```ts
 * UserProofModule.forRoot(loadUserProofConfig(env, internalAuth))
 * ```
 */
@Module({})
export class UserProofModule {
  static forRoot(config: UserProofConfig): DynamicModule {
    return {
      module: UserProofModule,
      global: true,
      // The guard itself is made where `@ActsForUser()` uses it, and reads this.
      providers: [{ provide: USER_PROOF_CONFIG, useValue: config }],
      exports: [USER_PROOF_CONFIG],
    };
  }
}
