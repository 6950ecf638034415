import { afterEach, describe, expect, it, vi } from 'vitest';
import { TaskBatch } from './task-batch.ts';

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
    // The task scheduled by add(1) is still on its way (add(3) schedules none): when it comes, it hands over 3 alone.
    batch.add(3);
    await vi.waitFor(() => expect(delivered.length).toBe(2));
    expect(delivered).toEqual([[1, 2], [3]]);
  });

  it('delivers nothing after it is closed', async () => {
    const delivered: number[][] = [];
    batch = new TaskBatch((items) => delivered.push(items));
    batch.add(1);
    batch.close();
    // What the channel's task would do, had it still come: it finds nothing to hand over.
    batch.flush();
    expect(delivered).toEqual([]);
  });
});
