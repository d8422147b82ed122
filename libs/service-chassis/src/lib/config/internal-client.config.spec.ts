import { ConfigError } from '@zt/service-utils';
import { loadInternalClientConfig } from './internal-client.config';

describe(loadInternalClientConfig.name, () => {
  it('uses the documented defaults when nothing is set', () => {
    expect(loadInternalClientConfig({})).toEqual({
      timeoutMs: 3000,
      retries: 2,
      breakerResetMs: 5000,
      breakerErrorThresholdPercent: 50,
      breakerVolumeThreshold: 5,
    });
  });

  it('reads every variable', () => {
    expect(
      loadInternalClientConfig({
        INTERNAL_HTTP_TIMEOUT_MS: '750',
        INTERNAL_HTTP_RETRIES: '0',
        CIRCUIT_BREAKER_RESET_MS: '200',
        CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT: '25',
        CIRCUIT_BREAKER_VOLUME_THRESHOLD: '3',
      }),
    ).toEqual({
      timeoutMs: 750,
      retries: 0,
      breakerResetMs: 200,
      breakerErrorThresholdPercent: 25,
      breakerVolumeThreshold: 3,
    });
  });

  it.each([
    ['INTERNAL_HTTP_TIMEOUT_MS', 'soon'],
    ['INTERNAL_HTTP_TIMEOUT_MS', '0'],
    ['INTERNAL_HTTP_TIMEOUT_MS', '-5'],
    ['INTERNAL_HTTP_RETRIES', '11'],
    ['INTERNAL_HTTP_RETRIES', '1.5'],
    ['CIRCUIT_BREAKER_RESET_MS', '1e3'],
    ['CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT', '100'],
    ['CIRCUIT_BREAKER_ERROR_THRESHOLD_PERCENT', '0'],
    ['CIRCUIT_BREAKER_VOLUME_THRESHOLD', '0'],
  ])('refuses %s=%s with an error that names the variable', (variable, value) => {
    let caught: unknown;
    try {
      loadInternalClientConfig({ [variable]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(variable);
    expect((caught as ConfigError).message).toMatch(new RegExp(`^${variable} `));
  });
});
