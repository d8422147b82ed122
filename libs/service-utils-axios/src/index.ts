// The trust kit's credential on axios, for teams whose services already call out with axios or
// @nestjs/axios: exactly the kit's headers (`internalHeaders`), on calls to named internal
// services only. Depends on axios and the kit (@zt/service-utils), nothing else.

// A configured instance for one internal service
export { createInternalAxios, type CreateInternalAxiosOptions } from './lib/create-internal-axios';
// The interceptor, for an existing instance (the team's own, or @nestjs/axios's axiosRef)
export {
  type AxiosInstanceLike,
  installInternalHeaders,
  internalHeadersInterceptor,
  type InternalAxiosOptions,
  type InternalHeadersInterceptor,
} from './lib/internal-headers.interceptor';
// Where the headers come from: the kit's configuration today, a token provider later
export type {
  InternalCallTarget,
  InternalCredential,
  InternalCredentialHeaders,
  InternalCredentialProvider,
} from './lib/internal-credential';
export {
  type InternalHeaderRefusal,
  InternalHeaderRefusedError,
} from './lib/internal-header-refused.error';
