/** The smallest accepted token length, in characters. */
export const MIN_TOKEN_LENGTH = 32;
/** The smallest number of distinct characters in an accepted token. */
export const MIN_TOKEN_DISTINCT_CHARACTERS = 12;

// Fragments of values that people paste from examples instead of generating a secret.
const PLACEHOLDER_FRAGMENTS = [
  'YOUR_GENERATED_TOKEN',
  'TOKEN_HERE',
  'SECRET_HERE',
  'PLACEHOLDER',
  'CHANGEME',
  'CHANGE_ME',
  'CHANGE-ME',
  'REPLACE_ME',
  'REPLACE-ME',
  'EXAMPLE',
];

/**
 * Explains why `token` is unacceptable as an internal credential, or returns `undefined`
 * when it is acceptable. The explanation never contains the token.
 */
export function findTokenWeakness(token: string): string | undefined {
  if (token.length === 0) return 'is empty';
  if (token.length < MIN_TOKEN_LENGTH) return `is shorter than ${MIN_TOKEN_LENGTH} characters`;
  if (new Set(token).size < MIN_TOKEN_DISTINCT_CHARACTERS) {
    return `has fewer than ${MIN_TOKEN_DISTINCT_CHARACTERS} distinct characters`;
  }
  if (/[\s,]/.test(token)) return 'contains white space or a comma';
  if (/[^\x21-\x7e]/.test(token)) return 'contains characters outside visible ASCII';
  const upper = token.toUpperCase();
  if (PLACEHOLDER_FRAGMENTS.some((fragment) => upper.includes(fragment))) {
    return 'is a placeholder: generate one with `openssl rand -base64 32`';
  }
  return undefined;
}
