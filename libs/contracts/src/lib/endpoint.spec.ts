import { z } from 'zod';
import { defineEndpoint, pathOf, readOutcome } from './endpoint';
import { billingApi } from '../index';

describe(readOutcome.name, () => {
  const sut = defineEndpoint({
    method: 'POST',
    path: '/things',
    summary: 'probe',
    answers: [
      { status: 201, kind: 'made', body: z.object({ id: z.string() }), description: '' },
      {
        status: 409,
        kind: 'aborted',
        body: z.object({ error: z.literal('aborted') }),
        description: '',
      },
      { status: 409, kind: 'conflict', body: z.object({ error: z.string() }), description: '' },
    ],
  });

  it('names the outcome by status and body, the first matching answer first', () => {
    expect(readOutcome(sut, 201, { id: 'a', other: 1 })).toEqual({
      kind: 'made',
      status: 201,
      body: { id: 'a' },
    });
    expect(readOutcome(sut, 409, { error: 'aborted' })?.kind).toBe('aborted');
    expect(readOutcome(sut, 409, { error: 'in the way' })?.kind).toBe('conflict');
  });

  it('gives nothing for an undeclared status or a body of the wrong shape', () => {
    expect(readOutcome(sut, 200, { id: 'a' })).toBeUndefined();
    expect(readOutcome(sut, 201, { id: 7 })).toBeUndefined();
    expect(readOutcome(sut, 201, undefined)).toBeUndefined();
  });

  it("reads billing's 402 with the balance, and refuses one without it", () => {
    const short = { error: 'insufficient funds', balance: 0.005 };
    expect(readOutcome(billingApi.placeHold, 402, short)).toMatchObject({
      kind: 'insufficient_funds',
      body: short,
    });
    expect(readOutcome(billingApi.placeHold, 402, { error: 'insufficient funds' })).toBeUndefined();
  });
});

describe(pathOf.name, () => {
  it('encodes a :segment, keeps a *rest as the caller encoded it, and leaves out unset query values', () => {
    const route = defineEndpoint({
      method: 'GET',
      path: '/a/:id/b/*rest',
      summary: '',
      answers: [],
    });
    expect(pathOf(route, { id: 'x/y?', rest: 'c/d%20e' }, { after: '5', limit: undefined })).toBe(
      '/a/x%2Fy%3F/b/c/d%20e?after=5',
    );
    expect(() => pathOf(route, { id: 'x' })).toThrow(TypeError);
  });
});
