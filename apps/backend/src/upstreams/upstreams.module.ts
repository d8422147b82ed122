import { Module } from '@nestjs/common';
import { BillingClient } from './billing.client';
import { FilesystemClient } from './filesystem.client';
import { UserAssertions } from './user-assertions';

/**
 * Typed clients of the backend's upstreams, over the application's `InternalHttpClient`
 * (which `InternalClientModule.forRoot` provides globally in the root module).
 */
@Module({
  providers: [BillingClient, FilesystemClient, UserAssertions],
  exports: [BillingClient, FilesystemClient],
})
export class UpstreamsModule {}
