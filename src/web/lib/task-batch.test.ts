import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskBatch } from './task-batch.ts';

/** Long enough for a pending channel message to have been delivered, had there been one. */
const aWhile = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('TaskBatch', () => {
  let batch: TaskBatch<number> | undefined;
  afterEach(() => batch?.close());

  it('hands over everything added in one task together, in order, on a later task', async () => {
    const delivered: number[][] = [];
    batch = new TaskBatch((items) => delivered.push(items));
    for (let n = 1; n <= 5; n++) batch.add(n);
    expect(delivered).toEqual([]);
    await vi.waitFor(() => expect(delivered).toEqual([[1, 2, 3, 4, 5]]));
    batch.add(6);
    await vi.waitFor(() => expect(delivered).toEqual([[1, 2, 3, 4, 5], [6]]));
  });

  it('delivers at once on flush, and not a second time when its task comes', async () => {
    const delivered: number[][] = [];
    batch = new TaskBatch((items) => delivered.push(items));
    batch.add(1);
    batch.add(2);
    batch.flush();
    expect(delivered).toEqual([[1, 2]]);
    await aWhile();
    expect(delivered).toEqual([[1, 2]]);
  });

  it('delivers nothing after it is closed', async () => {
    const delivered: number[][] = [];
    batch = new TaskBatch((items) => delivered.push(items));
    batch.add(1);
    batch.close();
    await aWhile();
    expect(delivered).toEqual([]);
  });
});
