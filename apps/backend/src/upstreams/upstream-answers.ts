import { HttpException } from '@nestjs/common';

/** An upstream's refusal of what the client asked for: its status and `{"error"}`. */
export interface Refusal {
  readonly status: number;
  readonly body: { readonly error: string };
}

/**
 * The error to throw for an upstream's refusal that is about the client's request (a bad or
 * unknown path, a quota, too many requests): the same status and `{"error": <the upstream's
 * message>}`, nothing else of its body. Which outcomes are such refusals is each caller's
 * `switch` over the contract's outcomes; anything else is the backend's own problem.
 */
export function relayRefusal(refusal: Refusal): HttpException {
  return new HttpException({ error: refusal.body.error }, refusal.status);
}
