import { z } from 'zod';

/** The one error shape of every service: `{"error": "<message>"}` (plus optional fields). */
export const errorBody = z.object({ error: z.string().min(1).max(1024) }).passthrough();

/** An error answer whose message is fixed by the contract, e.g. `{"error":"account not found"}`. */
export function errorWith<const Message extends string>(message: Message) {
  return z.object({ error: z.literal(message) }).passthrough();
}
