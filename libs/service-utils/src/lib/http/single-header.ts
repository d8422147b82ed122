import { type FrameworkRequest, nodeRequestOf } from './node-message';

/** What a request carries under one header name. */
export type HeaderPresence =
  | { readonly kind: 'absent' }
  | { readonly kind: 'repeated' }
  | { readonly kind: 'single'; readonly value: string };

/**
 * Reads a header that must appear at most once. Node joins repeated headers into one
 * comma-separated value, which would hide a second, attacker-supplied copy; this looks at
 * the raw header list instead. Header names compare case-insensitively.
 */
export function readSingleHeader(request: FrameworkRequest, name: string): HeaderPresence {
  const wanted = name.toLowerCase();
  const raw = nodeRequestOf(request).rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() !== wanted) continue;
    if (value !== undefined) return { kind: 'repeated' };
    value = raw[i + 1];
  }
  return value === undefined ? { kind: 'absent' } : { kind: 'single', value };
}
