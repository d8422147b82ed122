import { HttpStatus, type PipeTransform } from '@nestjs/common';
import { HttpError, USER_ID_PATTERN } from '@zt/service-utils';

/** Validates a `:user_id` path parameter: 400 `{"error":"invalid user_id"}` otherwise. */
export class UserIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!USER_ID_PATTERN.test(value))
      throw new HttpError(HttpStatus.BAD_REQUEST, 'invalid user_id');
    return value;
  }
}
