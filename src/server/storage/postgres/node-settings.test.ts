import { describe, expect, it } from 'vitest';
import { settingsDifferences } from './node-settings.ts';

describe('settingsDifferences', () => {
  it('names each setting whose value differs, theirs then mine, in flag order', () => {
    expect(settingsDifferences({ 'send-rate': '10', 'file-retention': 'keep', 'send-burst': '30' }, { 'send-rate': '20', 'file-retention': '604800000ms', 'send-burst': '30' })).toEqual([
      '--file-retention 604800000ms there, keep here',
      '--send-rate 20 there, 10 here',
    ]);
  });

  it('finds nothing between equal settings', () => {
    expect(settingsDifferences({ 'send-rate': '10' }, { 'send-rate': '10' })).toEqual([]);
  });

  it('leaves out a setting only one side records, as between two versions during an upgrade', () => {
    expect(settingsDifferences({ 'send-rate': '10', 'new-setting': 'x' }, { 'send-rate': '10', 'old-setting': 'y' })).toEqual([]);
  });
});
