import {
  FAILED_LOGIN_WINDOW_MS,
  FailedLoginThrottle,
  MAX_FAILED_LOGINS,
} from './failed-login-throttle';

describe(FailedLoginThrottle.name, () => {
  let now: number;
  let sut: FailedLoginThrottle;

  beforeEach(() => {
    // A frozen clock that the test moves.
    now = 1_000_000;
    sut = new FailedLoginThrottle(() => now);
  });

  const fail = (email: string, times: number) => {
    for (let i = 0; i < times; i += 1) {
      expect(sut.reserve(email)).toBe(0);
      sut.recordFailure(email);
      now += 1000;
    }
  };

  it(`lets ${MAX_FAILED_LOGINS} failures through, then refuses that email only`, () => {
    fail('ada@example.com', MAX_FAILED_LOGINS - 1);
    fail('ada@example.com', 1);
    expect(sut.reserve('ada@example.com')).toBeGreaterThan(0);
    expect(sut.reserve('bob@example.com')).toBe(0);
  });

  it('lets the email try again once the oldest counted failure leaves the window', () => {
    fail('ada@example.com', MAX_FAILED_LOGINS);
    const wait = sut.reserve('ada@example.com');
    expect(wait).toBe(FAILED_LOGIN_WINDOW_MS - MAX_FAILED_LOGINS * 1000);
    now += wait - 1;
    expect(sut.reserve('ada@example.com')).toBe(1);
    now += 1;
    expect(sut.reserve('ada@example.com')).toBe(0);
    sut.release('ada@example.com');
  });

  it('forgets the failures of an email after a success', () => {
    fail('ada@example.com', MAX_FAILED_LOGINS - 1);
    expect(sut.reserve('ada@example.com')).toBe(0);
    sut.recordSuccess('ada@example.com');
    fail('ada@example.com', MAX_FAILED_LOGINS - 1);
    expect(sut.reserve('ada@example.com')).toBe(0);
  });

  it('counts attempts still running, so a parallel burst gets no more checks than a sequence', () => {
    for (let i = 0; i < MAX_FAILED_LOGINS; i += 1) expect(sut.reserve('ada@example.com')).toBe(0);
    // Nothing has failed yet, but every place is taken by an attempt in flight.
    expect(sut.reserve('ada@example.com')).toBeGreaterThan(0);
    expect(sut.reserve('bob@example.com')).toBe(0);
    // An attempt that ends without a verdict (an error) gives its place back.
    sut.release('ada@example.com');
    expect(sut.reserve('ada@example.com')).toBe(0);
    for (let i = 0; i < MAX_FAILED_LOGINS; i += 1) sut.recordFailure('ada@example.com');
    expect(sut.reserve('ada@example.com')).toBe(FAILED_LOGIN_WINDOW_MS);
  });
});
