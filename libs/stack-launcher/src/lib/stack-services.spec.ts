import { addressesFromEnvironment, serviceEnvironment } from './stack-services';

describe(addressesFromEnvironment.name, () => {
  it("reads each service's port variable, else its default, and the URLs that are set", () => {
    expect(
      addressesFromEnvironment({
        BACKEND_PORT: '9000',
        BILLING_SERVER_URL: 'http://proxy:1',
        // As .env.example has it: where auth listens anyway, unless AUTH_SERVER_PORT moves it.
        AUTH_SERVER_URL: 'http://127.0.0.1:6001',
      }),
    ).toEqual({
      ports: {
        'billing-server': 6004,
        'auth-server': 6001,
        'filesystem-server': 6002,
        backend: 9000,
      },
      urls: { 'billing-server': 'http://proxy:1' },
    });
  });

  it('names the variable of a port that is not a number', () => {
    expect(() => addressesFromEnvironment({ AUTH_SERVER_PORT: 'eighty' })).toThrow(
      'AUTH_SERVER_PORT must be a port number, not "eighty"',
    );
  });
});

describe(serviceEnvironment.name, () => {
  it('sets its port and the URL of each service given, over the environment', () => {
    expect(
      serviceEnvironment(
        'backend',
        { DATA_DIR: '/data', BACKEND_PORT: '1', AUTH_SERVER_URL: 'http://old', GONE: undefined },
        8123,
        { 'auth-server': 'http://auth:1', 'billing-server': 'http://billing:2' },
      ),
    ).toEqual({
      DATA_DIR: '/data',
      BACKEND_PORT: '8123',
      AUTH_SERVER_URL: 'http://auth:1',
      BILLING_SERVER_URL: 'http://billing:2',
    });
  });
});
