import { ServiceMetrics } from '@zt/service-chassis';
import { readMetric } from '@zt/test-kit';
import { UploadBudget } from './upload-budget';

const CAPACITY = 1000;

function budgetOf(capacity: number, metrics?: ServiceMetrics): UploadBudget {
  return new UploadBudget(
    {
      fileWritePrice: '0.01',
      maxFileBytes: capacity,
      uploadBudgetBytes: capacity,
      settleAfterSeconds: 60,
      settleIntervalMs: 10_000,
    },
    metrics,
  );
}

describe(UploadBudget.name, () => {
  let sut: UploadBudget;

  beforeEach(() => {
    sut = budgetOf(CAPACITY);
  });

  it('holds what uploads take, and gets exactly that back when they are released', () => {
    const first = sut.open();
    const second = sut.open();
    expect(first.take(300)).toBe(true);
    expect(first.take(100)).toBe(true);
    expect(second.take(250)).toBe(true);
    expect({ first: first.bytes, second: second.bytes, held: sut.held }).toEqual({
      first: 400,
      second: 250,
      held: 650,
    });

    first.release();
    expect(first.bytes).toBe(0);
    expect(sut.held).toBe(250);
    second.release();
    expect(sut.held).toBe(0);
  });

  it('refuses bytes past the budget, taking none of them, and fills up exactly to it', () => {
    const holder = sut.open();
    expect(holder.take(900)).toBe(true);

    const late = sut.open();
    expect(late.take(101)).toBe(false);
    expect(late.bytes).toBe(0);
    expect(sut.held).toBe(900);

    // A refusal is not final: what fits is still given, up to the last byte.
    expect(late.take(100)).toBe(true);
    expect(sut.held).toBe(CAPACITY);
    expect(sut.open().take(1)).toBe(false);
    expect(holder.take(1)).toBe(false);

    holder.release();
    expect(sut.open().take(900)).toBe(true);
  });

  it('lets an upload of unknown size start only while the budget is not full', () => {
    const holder = sut.open();
    expect(sut.open().take(0)).toBe(true);
    expect(holder.take(CAPACITY)).toBe(true);
    expect(sut.open().take(0)).toBe(false);
    holder.release();
    expect(sut.open().take(0)).toBe(true);
    expect(sut.held).toBe(0);
  });

  it('never goes below zero: a share is given back once, whatever the number of releases', () => {
    const other = sut.open();
    expect(other.take(200)).toBe(true);

    const twice = sut.open();
    expect(twice.take(300)).toBe(true);
    twice.release();
    twice.release();
    expect(sut.held).toBe(200);

    const refused = sut.open();
    expect(refused.take(CAPACITY)).toBe(false);
    refused.release();
    sut.open().release();
    expect(sut.held).toBe(200);

    other.release();
    other.release();
    expect(sut.held).toBe(0);
    // Still the whole budget, not more: double releases did not create room.
    expect(sut.open().take(CAPACITY + 1)).toBe(false);
    expect(sut.open().take(CAPACITY)).toBe(true);
  });

  it('refuses amounts that are not a byte count, and a released share taking again', () => {
    const reservation = sut.open();
    for (const bytes of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => reservation.take(bytes)).toThrow(RangeError);
    }
    expect(sut.held).toBe(0);
    reservation.release();
    // It would never be given back.
    expect(() => reservation.take(1)).toThrow('already released');
    expect(sut.held).toBe(0);
  });

  it('reports what it holds and its size on the metrics registry, read at scrape time', async () => {
    const metrics = new ServiceMetrics({ serviceName: 'backend', processMetrics: false });
    const measured = budgetOf(CAPACITY, metrics);
    const scrape = () => metrics.registry.metrics();

    expect(readMetric(await scrape(), 'backend_upload_budget_bytes')).toBe(CAPACITY);
    expect(readMetric(await scrape(), 'backend_upload_held_bytes')).toBe(0);
    const reservation = measured.open();
    reservation.take(640);
    expect(readMetric(await scrape(), 'backend_upload_held_bytes')).toBe(640);
    reservation.release();
    expect(readMetric(await scrape(), 'backend_upload_held_bytes')).toBe(0);
  });
});
