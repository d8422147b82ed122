import { HttpStatus, type PipeTransform } from '@nestjs/common';
import { USER_ID_PATTERN } from '@zt/service-utils';
import { HttpError } from '@zt/service-chassis';

/** Validates a `:user_id` path parameter: 400 `{"error":"invalid user_id"}` otherwise. */
export class UserIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!USER_ID_PATTERN.test(value))
      throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid user_id');
    return value;
  }
}
