import { z } from 'zod';
import { WRITE_ID_PATTERN } from '../write-id';

/** Most records in one page of `GET /writes`, and the default. */
export const MAX_WRITES_PAGE = 1000;

/** Query of `GET /writes`. */
export const writesQuerySchema = z
  .object({
    after: z
      .string({ invalid_type_error: 'must be given once' })
      .regex(WRITE_ID_PATTERN, 'must be a write id: 1-64 letters, digits, "_" or "-"')
      .optional(),
    limit: z
      .string({ invalid_type_error: 'must be given once' })
      .regex(/^[1-9][0-9]{0,3}$/, `must be a whole number from 1 to ${MAX_WRITES_PAGE}`)
      .transform(Number)
      .refine(
        (value) => value <= MAX_WRITES_PAGE,
        `must be a whole number from 1 to ${MAX_WRITES_PAGE}`,
      )
      .optional(),
  })
  .strict();
export type WritesQuery = z.infer<typeof writesQuerySchema>;
