import { ConfigError } from './config.error';
import { DEFAULT_KEY_SET, type InternalAuthConfig } from './internal-auth.config';
import { loadUserProofConfig } from './user-proof.config';

describe(loadUserProofConfig.name, () => {
  const serviceTokens = {
    issuer: 'http://auth.test',
    jwksUrl: new URL('http://auth.test/oauth2/jwks'),
    audience: 'filesystem-server',
    keySet: DEFAULT_KEY_SET,
  };
  const jwt: InternalAuthConfig = { acceptedTokens: [], mode: 'jwt', serviceTokens };
  const token: InternalAuthConfig = { acceptedTokens: ['x'.repeat(32)], mode: 'token' };
  const errorOf = (run: () => unknown): ConfigError => {
    try {
      run();
    } catch (error) {
      return error as ConfigError;
    }
    throw new Error('did not throw');
  };

  it('is off by default, and when set so, in every mode', () => {
    expect(loadUserProofConfig({}, token)).toEqual({ mode: 'off' });
    expect(loadUserProofConfig({ USER_PROOF: 'off' }, jwt)).toEqual({ mode: 'off' });
  });

  it("required verifies assertions with the service tokens' issuer, key set and audience", () => {
    expect(loadUserProofConfig({ USER_PROOF: 'required' }, jwt)).toEqual({
      mode: 'required',
      assertions: serviceTokens,
    });
    expect(
      loadUserProofConfig({ USER_PROOF: 'required' }, { ...jwt, mode: 'token+jwt' }).mode,
    ).toBe('required');
  });

  it('refuses required in token mode, naming the variable and what it needs', () => {
    const error = errorOf(() => loadUserProofConfig({ USER_PROOF: 'required' }, token));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('USER_PROOF');
    expect(error.message).toMatch(/INTERNAL_AUTH_MODE token\+jwt or jwt/);
  });

  it('refuses a value it does not know', () => {
    expect(errorOf(() => loadUserProofConfig({ USER_PROOF: 'on' }, jwt)).variable).toBe(
      'USER_PROOF',
    );
  });
});
