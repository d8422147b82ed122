import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { IS_INTERNAL_ONLY_KEY } from './internal-auth.constants';
import { InternalTokenGuard } from './internal-token.guard';
import { IS_PUBLIC_KEY } from './public.decorator';

/**
 * Marks a route that needs the internal credential (`X-INTERNAL-TOKEN`) in every app, the
 * public backend included, whatever global guard the app registers: operators' routes such
 * as `GET /metrics`.
 *
 * It takes the route out of the app's own global guard (so the backend does not ask for a
 * user token there) and puts {@link InternalTokenGuard} on the route itself, which then
 * refuses a request without a valid credential with `403 {"error":"Forbidden"}`, as on any
 * internal route. The route inventory lists such routes apart (`isInternalOnly`), never as public.
 */
export const InternalOnly = () =>
  applyDecorators(
    SetMetadata(IS_PUBLIC_KEY, true),
    SetMetadata(IS_INTERNAL_ONLY_KEY, true),
    UseGuards(InternalTokenGuard),
  );
